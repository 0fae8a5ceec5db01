"""Errors edgekit reports to users as one line (``edgekit: error: <message>``, non-zero exit)."""


class EdgekitError(Exception):
    """A user-facing failure: bad input, a failed gate, a missing artifact.

    The message is one line and names the file and place (line, element, key) where relevant.
    """


class InputError(EdgekitError):
    """Malformed, empty, truncated or hostile input data."""


class GateError(EdgekitError):
    """A verification gate failed (a variant drifted beyond its tolerance)."""

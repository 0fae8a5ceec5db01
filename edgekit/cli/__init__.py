"""The command line: ``edgekit`` and its verbs."""

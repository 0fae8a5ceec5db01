"""Core ML ML programs read and run in NumPy: the reference evaluator (used by export and verify)."""

"""The bottom layer: errors, atomic file I/O, logging and progress, fatigue zones."""

"""edgekit: train, quantize, verify and package on-device HRV models for iOS."""

import os as _os

__version__ = "0.1.0"

STRAIN_LABELS = ("healthy", "strained", "burnout_risk")
INPUT_NAME = "rr_sequence"

# torch's OpenMP worker threads busy-wait between parallel regions by default: on a busy machine
# they take the cores the other processes (and torch's own descheduled worker) need, and training
# slowed 7x next to one CPU-bound process on 2 cores. PASSIVE lets idle workers sleep. It changes
# when threads wait, not how work is split, so results are bit-identical. OpenMP reads it once,
# when torch is first imported; edgekit is imported before torch on every edgekit entry point.
# An explicit OMP_WAIT_POLICY in the environment wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

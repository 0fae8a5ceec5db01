"""edgekit: train, quantize, verify and package on-device HRV models for iOS."""

import os as _os

__version__ = "0.1.0"

STRAIN_LABELS = ("healthy", "strained", "burnout_risk")
INPUT_NAME = "rr_sequence"

# torch's OpenMP worker threads (GNU libgomp on Linux) busy-wait between parallel regions by default:
# on a busy machine they take the cores the other processes (and torch's own descheduled worker)
# need, and training slowed 7x next to one CPU-bound process on 2 cores. A short spin before
# sleeping keeps most of the quiet speed and almost all of the busy-machine robustness. Measured on
# this 2-core box (transformer, 4 epochs; quiet / next to one CPU-bound process): spinning 23.5 s /
# 78.6 s; OMP_WAIT_POLICY=PASSIVE 33.9 s / 35.7 s; GOMP_SPINCOUNT=1000 26.0 s / 37.7 s. It changes
# when threads wait, not how work is split, so results are bit-identical. OpenMP reads it once, when
# torch is first imported; edgekit is imported before torch on every edgekit entry point. An
# explicit OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment wins.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "1000")

"""edgekit: train, quantize, verify and package on-device HRV models for iOS."""

__version__ = "0.1.0"

STRAIN_LABELS = ("healthy", "strained", "burnout_risk")
INPUT_NAME = "rr_sequence"

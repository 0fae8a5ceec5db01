"""The simulators (SYNTHETIC data): the recording-profile cohort and the workout population, and measures on them."""

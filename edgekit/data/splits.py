"""Subject-wise splits: whole subjects to train, validation and test (no subject in two splits)."""

from __future__ import annotations

import numpy as np

from edgekit.core.errors import EdgekitError


def split_by_subject(
    subjects: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Assign whole subjects to train/val/test (no subject in two splits). Returns subject ids."""
    unique = np.unique(subjects)
    if len(unique) < 3:
        raise EdgekitError(f"need at least 3 subjects for a subject-wise split, got {len(unique)}")
    order = np.random.default_rng(seed).permutation(unique)
    n_test = max(1, round(test_fraction * len(unique)))
    n_val = max(1, round(val_fraction * len(unique)))
    return {
        "test": np.sort(order[:n_test]),
        "val": np.sort(order[n_test : n_test + n_val]),
        "train": np.sort(order[n_test + n_val :]),
    }

"""The ``classify`` op of a Core ML classifier: top label plus a label → probability dictionary."""

from __future__ import annotations

import numpy as np

from edgekit.mil.ops import Call, register


@register("classify")
def _classify(c: Call):
    probs = np.asarray(c.get("probabilities"), np.float64).reshape(-1)
    classes = [str(s) for s in np.asarray(c.get("classes")).reshape(-1)]
    if len(classes) != probs.size:
        raise c.fail(f"{probs.size} probabilities for {len(classes)} classes")
    label = classes[int(np.argmax(probs))]
    return np.array(label, dtype=object), {k: float(p) for k, p in zip(classes, probs)}

"""Fatigue score → zone: green ≥ 70, yellow 40–69, red < 40 (DESIGN.md contract)."""

GREEN_MIN = 70.0
YELLOW_MIN = 40.0
ZONES = ("green", "yellow", "red")


def zone_of(fatigue_score: float) -> str:
    """Zone of a 0–100 fatigue score (100 = fully recovered)."""
    if fatigue_score >= GREEN_MIN:
        return "green"
    if fatigue_score >= YELLOW_MIN:
        return "yellow"
    return "red"

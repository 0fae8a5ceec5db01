"""The workout fixtures of the Swift package (``Fixtures/workouts.json``): deterministic, and
covering what the Swift port must reproduce (dense and sparse heart rate, device and GPS speed, a
GPS gap, no altitude, padding, context across windows, messy samples)."""

from __future__ import annotations

import json

from edgekit.package.fixtures.workouts import workout_fixtures


def test_workout_fixtures_cover_the_cases_and_are_deterministic():
    doc = workout_fixtures(180, 10.0)
    assert json.dumps(doc, sort_keys=True, allow_nan=False) == json.dumps(workout_fixtures(180, 10.0), sort_keys=True)
    cases = {c["name"]: c for c in doc["cases"]}
    assert len(cases) >= 7
    # device speed present and absent
    assert any(c["grid"]["device_speed_steps"] > 0 for c in cases.values())
    assert any(c["grid"]["gps_speed_steps"] > 0 and c["grid"]["device_speed_steps"] == 0 for c in cases.values())
    # the 90 s GPS gap leaves steps without speed inside the workout; sparse HR leaves HR gaps
    gap = cases["sparse_gps_speed_gap"]["grid"]
    inner = gap["speed"][1:-1]
    assert None in inner and inner.index(None) > 0
    assert gap["hr"].count(None) > len(gap["hr"]) // 3
    dense = cases["dense_device_speed"]["grid"]
    assert dense["hr"].count(None) < 5
    # no altitude: no grade, which reads as flat (0): the steps are valid and scored
    assert set(cases["no_altitude"]["grid"]["grade"]) == {None}
    assert cases["no_altitude"]["comparison"]["n_scored"] > 0
    assert all(v == 0 for x in cases["no_altitude"]["inputs"] for v in x[1::3])
    # padding (a short workout) and context longer than one window
    assert not all(cases["dense_gps_short"]["windows"]["valid"][0])
    long_ctx = cases["sparse_device_speed_long_context"]
    assert long_ctx["comparison"]["context_steps"] > 180 and len(long_ctx["inputs"]) >= 2
    second = long_ctx["inputs"][1]
    assert any(v for v in second[2::3])  # the context spills into the second window
    # ties to even: 0.75 min of 10 s steps = 4.5 -> 4
    assert cases["device_speed_without_positions"]["comparison"]["context_steps"] == 4
    for c in cases.values():
        assert len(c["inputs"]) >= 1 and all(len(x) == 180 * 3 for x in c["inputs"])

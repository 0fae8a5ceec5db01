"""The shipped parity fixtures (edgekit/fixtures/): enough cases, right shapes, the edge cases the issue names."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.config.load import load_config
from edgekit.core.errors import EdgekitError
from edgekit.tasks import task_for
from edgekit.verify import fixtures

from conftest import CONFIGS


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fixture_file_matches_generator_and_model(name):
    cfg = load_config(CONFIGS[name])
    path = fixtures.shipped(name)  # what verify reads (package data)
    doc = json.loads(path.read_text())
    length = doc["shape"][1]

    expected = task_for(cfg.model.type).input_length(cfg.model.params)
    assert length == expected and doc["units"] == "ms" and doc["input_name"] == "rr_sequence"
    names, X = fixtures.load(path, length)
    assert len(names) >= fixtures.MIN_FIXTURES and len(set(names)) == len(names)
    assert fixtures.dumps(fixtures.document(name, cfg.model.type, length)) == path.read_text()  # regenerable
    if cfg.model.type == "strain_transformer":
        assert {"all_300ms", "all_2000ms", "constant_800ms", "alternating_700_900", "corrected_ectopics"} <= set(names)
        assert X.min() >= 300 and X.max() <= 2000
    else:
        assert {"all_5ms", "all_150ms", "constant_45ms", "alternating_5_150", "hour_without_beats"} <= set(names)
        assert np.all(X >= 0) and X.max() <= 150
    kinds = [c["kind"] for c in doc["cases"]]
    assert kinds.count("realistic") >= 20 and kinds.count("edge") >= 8


def test_wrong_length_is_refused(tmp_path):
    with pytest.raises(EdgekitError, match="windows of 64"):
        fixtures.load(fixtures.shipped("hrv_transformer"), 64)

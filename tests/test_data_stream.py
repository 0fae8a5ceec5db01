"""Streaming ingest and the chunked synthetic cohort: same bytes as the whole-table paths."""

import hashlib

import numpy as np
import pytest

from edgekit.pipeline.build import run_data_stage
from benchmarks import bench_scale
from benchmarks.bench_data import write_export
from edgekit.cli.main import main
from edgekit.config.load import load_config
from edgekit.data import rr
from edgekit.data.readers import formats as readers
from edgekit.data.synth import cohort as synth
from edgekit.data.readers.apple_health import stream_export
from edgekit.data.readers.stream import TableWriter, ingest_apple_health
from edgekit.core.errors import InputError
from helpers import SMALL_COHORT, bundled_config

# windows.npz sha256 of the data stage on main before chunking (6 subjects x 3 days, seed 7)
MAIN_WINDOWS_SHA = {
    "hrv_transformer": "48fcba70a4652fdccc604e2f0d4391ccbc629a849a2ccfa3a39b572827d2a4f7",
    "hrv_lstm": "1a9a661451afea11078db83cc6e5c3049b4649889d66c3b4f6b4c6cc65418796",
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    d = tmp_path_factory.mktemp("exports")
    a, b = d / "watch.xml", d / "phone.xml"
    write_export(a, target_mb=1.5, hrv_every=3)  # all four time-of-day styles, midnight crossing
    write_export(b, target_mb=0.5, hrv_every=1, seed=3)
    return a, b


def _whole(paths, out):
    rr.write_csv(readers.read(paths, "apple-health"), out)
    return out.read_bytes()


def test_streamed_ingest_same_bytes_as_whole_table(exports, tmp_path):
    ref = _whole(list(exports), tmp_path / "whole.csv")
    out = tmp_path / "stream.csv"
    info = ingest_apple_health(list(exports), out)
    assert out.read_bytes() == ref
    n_rows = ref.count(b"\n") - 1
    assert info["rows"] == n_rows and info["paths"] == ["fast", "fast"]
    last_seg = int(ref.rstrip(b"\n").rsplit(b"\n", 1)[1].split(b",")[1])
    assert info["segments"] == last_seg + 1
    # the CLI prints the same counts
    assert main(["data", "ingest", *map(str, exports), "--format", "apple-health",
                 "--out", str(tmp_path / "cli.csv")]) == 0
    assert (tmp_path / "cli.csv").read_bytes() == ref


@pytest.mark.parametrize("chunk", [4093, 65536 + 7])
def test_streamed_rows_independent_of_chunk_size(exports, tmp_path, chunk):
    ref = _whole([exports[0]], tmp_path / "whole.csv")
    out = tmp_path / "s.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = TableWriter(fh)
        w.begin(exports[0].stem, str(out))
        stream_export(exports[0], w.add, w.restart, chunk=chunk)
    assert out.read_bytes() == ref


def test_fast_path_giving_up_midway_restarts_cleanly(exports, tmp_path):
    """A comment far into the file: the fast path has already streamed rows when it gives up; the
    strict path starts over and the output holds each row once."""
    data = exports[0].read_bytes()
    cut = data.rfind(b"</Record>", 0, len(data) * 3 // 4) + len(b"</Record>")
    odd = tmp_path / "watch.xml"
    odd.write_bytes(data[:cut] + b"\n <!-- a comment -->" + data[cut:])
    out = tmp_path / "s.csv"
    info = ingest_apple_health([exports[1], odd], out)
    assert info["paths"] == ["fast", "strict"]
    assert out.read_bytes() == _whole([exports[1], exports[0]], tmp_path / "whole.csv")


def test_bad_input_leaves_nothing(exports, tmp_path):
    out = tmp_path / "rr.csv"
    out.write_text("the user's file\n")
    trunc = tmp_path / "t.xml"
    data = exports[0].read_bytes()
    trunc.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError, match=r"t.xml: line \d+, column \d+: truncated XML"):
        ingest_apple_health([exports[1], trunc], out)
    empty = tmp_path / "e.xml"
    empty.write_text('<?xml version="1.0"?>\n<HealthData locale="en_US">\n</HealthData>\n')
    with pytest.raises(InputError, match="e.xml: no RR intervals found"):
        ingest_apple_health([exports[1], empty], out)
    with pytest.raises(InputError, match="missing.xml: file not found"):
        ingest_apple_health([exports[1], tmp_path / "missing.xml"], out)
    assert out.read_text() == "the user's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.xml", "rr.csv", "t.xml"]


# ---------------------------------------------------------------------------------------------
# chunked cohort


def _cohort_arrays(co):
    t = co.table
    return [t.subject, t.segment, t.time_s, t.rr_ms, t.flags, co.truth, co.seg_label, co.seg_subject,
            co.seg_hour, co.score, co.readiness, co.wake_hour, co.day_state, np.concatenate(co.clean_rr)]


def test_chunked_cohort_equals_whole_cohort():
    ref = bench_scale.generate_whole_table(5, 2, 3)
    for chunk in (1, 2, 5, 100):
        parts = list(synth.iter_cohort(5, 2, 3, chunk_subjects=chunk))
        assert len(parts) == -(-5 // chunk)
        joined = [np.concatenate([getattr(p.table, c) for p in parts])
                  for c in ("subject", "segment", "time_s", "rr_ms", "flags")]
        joined.append(np.concatenate([p.truth for p in parts]))
        joined.extend(_cohort_arrays(parts[0])[6:13])
        joined.append(np.concatenate([r for p in parts for r in p.clean_rr]))
        for a, b in zip(joined, _cohort_arrays(ref)):
            assert a.dtype == b.dtype and np.array_equal(a, b), chunk
    gen = synth.generate(5, 2, 3)
    for a, b in zip(_cohort_arrays(gen), _cohort_arrays(ref)):
        assert np.array_equal(a, b)
    # a profile changes values, not draws: chunks still agree with the joined cohort
    prof = list(synth.iter_cohort(3, 2, 1, profile="atypical", chunk_subjects=1))
    whole = synth.generate(3, 2, 1, profile="atypical")
    assert np.array_equal(np.concatenate([p.table.rr_ms for p in prof]), whole.table.rr_ms)


def _small_cfg(tmp_path, name):
    return load_config(bundled_config(tmp_path, name, SMALL_COHORT))


@pytest.mark.parametrize("name", ["hrv_transformer", "hrv_lstm"])
def test_chunked_data_stage_equals_whole_cohort(tmp_path, monkeypatch, name):
    cfg = _small_cfg(tmp_path, name)
    whole = bench_scale.data_stage_whole_table(cfg, tmp_path / "whole.npz")
    for chunk in (1, 4):  # chunk size never shows in the output
        real = synth.iter_cohort
        monkeypatch.setattr(synth, "iter_cohort", lambda *a, _c=chunk, **k: real(*a, chunk_subjects=_c, **k))
        s = run_data_stage(cfg, tmp_path / f"b{chunk}")
        monkeypatch.setattr(synth, "iter_cohort", real)
        npz = (tmp_path / f"b{chunk}" / cfg.name / "data" / "windows.npz").read_bytes()
        assert s["fingerprint"] == whole == hashlib.sha256(npz).hexdigest()
    assert whole == MAIN_WINDOWS_SHA[name]


def test_synth_csv_same_bytes_chunked(tmp_path, monkeypatch):
    out = tmp_path / "c.csv"
    assert main(["data", "synth", "--out", str(out), "--subjects", "3", "--days", "2", "--seed", "4"]) == 0
    monkeypatch.setattr(synth, "iter_cohort", lambda s, d, seed, profile=None: iter(
        [bench_scale.generate_whole_table(s, d, seed)]))
    ref = tmp_path / "w.csv"
    assert main(["data", "synth", "--out", str(ref), "--subjects", "3", "--days", "2", "--seed", "4"]) == 0
    assert out.read_bytes() == ref.read_bytes()
    assert out.read_text().count("\n") > 3 * 2 * 24 * 100


def test_bench_ingest_rows_side_by_side(tmp_path):
    """The `make bench` ingest rows: streamed next to whole table, same bytes, exact counts."""
    r = bench_scale.bench_ingest(sizes_mb=(1.0,), workdir=tmp_path)
    names = [row["name"] for row in r["rows"]]
    assert [n.split(": ")[1] for n in names] == ["MB/s", "peak RSS"] and names[0].startswith("ingest ")
    for row in r["rows"]:
        assert row["a"] == "streamed" and row["b"] == "whole table" and row["ratio"] > 0
    d = r["detail"][0]
    assert d["bytes_identical"] and d["counts_exact"] and d["stream"]["path"] == "fast"


def test_format_rows_matches_python_formatting():
    """The byte-matrix formatter gives '%d' / '%.6f' exactly, or hands over to Python's formatting."""
    from edgekit.data.readers.stream import _format_rows_numpy, format_rows

    rng = np.random.default_rng(5)

    def py(g, t, r, f):
        return "".join(f"S,{a},{b:.6f},{c:.6f},{d}\n" for a, b, c, d in zip(g.tolist(), t.tolist(),
                                                                          r.tolist(), f.tolist()))

    n = 20_000
    g = np.arange(n) * 37
    for t, r in ((1.7e9 + np.round(rng.random(n) * 1e7, 2), np.round(rng.random(n) * 2000, 3)),
                 (rng.random(n) * 1e-3, rng.random(n) * 7),  # zero-padded decimals
                 ((np.arange(n) + 0.5) / 1e6, np.full(n, 0.0078125)),  # exact ties: half to even
                 (np.abs(np.frombuffer(rng.bytes(8 * n), np.float64)) % 1e9, rng.random(n) * 1e9)):
        assert format_rows("S", g, t, r, g % 300) == py(g, t, r, g % 300)
    t = 1.7e9 + np.round(rng.random(n) * 1e7, 2)
    assert _format_rows_numpy("S", g, t, t % 1000, g) is not None  # the export's values: no fallback


def test_parallel_body_check_same_rows_and_errors(exports, tmp_path, monkeypatch):
    """Large exports get their expat check in a second process: same bytes; a malformed body or a
    comment still sends the file to the strict path, which owns the error message."""
    from edgekit.data.readers import apple_health

    monkeypatch.setattr(apple_health, "PARALLEL_CHECK_BYTES", 0)
    ref = _whole(list(exports), tmp_path / "whole.csv")
    info = ingest_apple_health(list(exports), tmp_path / "p.csv")
    assert (tmp_path / "p.csv").read_bytes() == ref and info["paths"] == ["fast", "fast"]
    data = exports[0].read_bytes()
    cut = data.rfind(b"</Record>", 0, len(data) // 2) + len(b"</Record>")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(data[:cut] + b"\n <Record></Recrod>" + data[cut:])  # scan-invisible, expat error
    with pytest.raises(InputError, match=r"bad.xml: line \d+, column \d+: malformed XML"):
        ingest_apple_health([bad], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    odd = tmp_path / "watch.xml"
    odd.write_bytes(data[:cut] + b"\n <!-- a comment -->" + data[cut:])
    info = ingest_apple_health([odd], tmp_path / "o.csv")
    assert info["paths"] == ["strict"]
    assert (tmp_path / "o.csv").read_bytes() == _whole([exports[0]], tmp_path / "w0.csv")


def test_bench_recording_ingest_rows_side_by_side(tmp_path):
    """The `make bench` Polar-log rows: streamed next to whole table, same bytes, exact counts."""
    r = bench_scale.bench_recording_ingest(sizes_mb=(0.5,), workdir=tmp_path)
    assert [row["name"].split(": ")[1] for row in r["rows"]] == ["MB/s", "peak RSS"]
    assert all(row["a"] == "streamed" and row["b"] == "whole table" and row["ratio"] > 0 for row in r["rows"])
    d = r["detail"][0]
    assert d["bytes_identical"] and d["counts_exact"] and d["beats"] > 10_000

"""Polar, rr-text and CSV recordings read in chunks: the same rows, bytes and errors as whole files."""

import codecs
import random

import numpy as np
import pytest

from edgekit.cli.main import main
from edgekit.data import rr
from edgekit.data.readers import formats as readers
from edgekit.data.readers import csv_column, rr_chunks, text_blocks
from edgekit.data.readers.stream import ingest_recordings
from edgekit.core.errors import InputError

LINE_ENDS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]


def test_blocks_give_the_lines_of_the_whole_text(tmp_path):
    rng = random.Random(5)
    p = tmp_path / "t.txt"
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 60)):
            parts.append(rng.choice(["812", "0.79", "", "  ", "héllo", "a;b", "€"]) + rng.choice(LINE_ENDS))
        text = "".join(parts) + rng.choice(["", "x", "9"])
        raw = (codecs.BOM_UTF8 if rng.random() < 0.2 else b"") + text.encode()
        p.write_bytes(raw)
        size = rng.choice([1, 2, 3, 7, 64, 1 << 20])
        split_at_cr = rng.random() < 0.5
        try:
            whole = rr.read_text_file(p)
        except InputError as exc:
            with pytest.raises(InputError) as ei:
                list(text_blocks.text_blocks(p, size, split_at_cr=split_at_cr))
            assert str(ei.value) == str(exc)
            continue
        blocks = list(text_blocks.text_blocks(p, size, split_at_cr=split_at_cr))
        assert "".join(blocks) == whole
        assert [ln for b in blocks for ln in b.splitlines()] == whole.splitlines()
        if not split_at_cr:  # csv reads with io.StringIO: lines end at "\n" only
            assert all(b.endswith("\n") for b in blocks[:-1])


@pytest.mark.parametrize("raw", [b"", b" \n\t\r\n", b"800\n\x00\n", b"800\n810\n\xff\n820\n",
                                 codecs.BOM_UTF8 + b"800\n\xc3\n"])
def test_blocks_refuse_as_the_whole_file_reader(tmp_path, raw):
    p = tmp_path / "r.txt"
    p.write_bytes(raw)
    with pytest.raises(InputError) as whole:
        rr.read_text_file(p)
    for size in (1, 3, 1 << 20):
        with pytest.raises(InputError) as streamed:
            list(text_blocks.text_blocks(p, size))
        assert str(streamed.value) == str(whole.value)


def test_streamed_unit_rule_is_the_median_rule():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        n = int(rng.integers(1, 12))
        v = rng.choice([0.8, 5.0, 9.0, 9.999, 10.0, 10.001, 11.0, 14.0, 800.0], size=n)
        if rng.random() < 0.3:
            v = rng.uniform(0.0, 20.0, size=n)
        cuts = sorted(rng.integers(0, n + 1, size=int(rng.integers(0, 4))))
        chunks = [c for c in np.split(v, cuts) if len(c)]
        assert rr_chunks._detect_unit_streamed(iter(chunks), "auto") == rr_chunks._detect_unit(v, "auto"), v


def _recordings(tmp_path):
    """Files of each streamed format with gaps, blank lines, CRLF and a header; (path, fmt, options)."""
    rng = np.random.default_rng(3)
    out = []
    n = 5000
    rr_ms = rng.uniform(450.0, 1300.0, n).round(1)
    t = 1.7e9 + np.cumsum(rr_ms) / 1000.0
    t[n // 3:] += 40.0  # a gap: a new segment
    t[2 * n // 3:] += 9.5
    p = tmp_path / "polar_RR.txt"
    p.write_text("Phone timestamp;RR-interval [ms]\n"
                 + "".join(f"{x:.3f};{r:g}\n" + ("\n" if i % 777 == 0 else "") for i, (x, r) in enumerate(zip(t, rr_ms))))
    out.append((p, "polar", {}))
    p = tmp_path / "session.txt"
    p.write_bytes(b"RR (s)\r\n" + "".join(f"{r / 1000:.4f}\r\n" for r in rr_ms).encode())
    out.append((p, "rr-text", {}))
    p = tmp_path / "plain_ms.txt"
    p.write_text("".join(f"{r:g}\n" for r in rr_ms[:1200]))
    out.append((p, "rr-text", {"unit": "ms"}))
    p = tmp_path / "timed.csv"
    p.write_text("time;ibi;note\n" + "".join(f"{x * 1000:.0f};{r:g};\"a;b\"\n" for x, r in zip(t, rr_ms)))
    out.append((p, "csv", {"column": "ibi", "time_column": "time"}))
    p = tmp_path / "beats.csv"
    p.write_text("idx,rr_ms\n" + "".join(f"{i},{r:g}\n" for i, r in enumerate(rr_ms)))
    out.append((p, "csv", {}))
    return out


def test_chunked_readers_give_the_whole_file_rows(tmp_path):
    for path, fmt, options in _recordings(tmp_path):
        whole = readers.read(path, fmt, **options)
        assert len(set(whole.segment.tolist())) == (3 if fmt == "polar" or "time_column" in options else 1)
        for size in (97, 4096):
            extra = {"rows_per_chunk": 333} if fmt == "csv" else {}
            if fmt == "rr-text":
                chunks = readers.iter_rr_text(path, options.get("unit", "auto"), block_bytes=size)
            elif fmt == "polar":
                chunks = readers.iter_polar(path, block_bytes=size)
            else:
                chunks = readers.iter_csv_column(path, options.get("column"), options.get("time_column"),
                                                 block_bytes=size, **extra)
            parts = list(chunks)
            assert len(parts) > 3 or size > 97, (path, size)
            table = readers._table(path, parts)
            for field in ("segment", "time_s", "rr_ms"):
                assert np.array_equal(getattr(table, field), getattr(whole, field)), (path, field, size)


def test_streamed_ingest_same_bytes_as_whole_table(tmp_path, monkeypatch):
    files = _recordings(tmp_path)
    for fmt in ("polar", "rr-text", "csv"):
        group = [(p, o) for p, f, o in files if f == fmt and not o]
        paths = [p for p, _ in group] + ([p for p, f, o in files if f == fmt and o][:1] if fmt == "polar" else [])
        ref = tmp_path / f"whole_{fmt}.csv"
        rr.write_csv(readers.read(paths, fmt, subjects=[f"s{i}" for i in range(len(paths))]), ref)
        monkeypatch.setattr(text_blocks, "BLOCK_BYTES", 211)
        monkeypatch.setattr(csv_column, "ROWS_PER_CHUNK", 50)
        out = tmp_path / f"stream_{fmt}.csv"
        r = ingest_recordings(paths, out, fmt, subjects=[f"s{i}" for i in range(len(paths))])
        monkeypatch.undo()
        assert out.read_bytes() == ref.read_bytes()
        assert r["rows"] == len(rr.read_csv(ref))
    # the CLI: same bytes, and the timed CSV with its options
    timed = next(p for p, f, o in files if "time_column" in o)
    ref = tmp_path / "whole_timed.csv"
    rr.write_csv(readers.read(timed, "csv", column="ibi", time_column="time"), ref)
    out = tmp_path / "cli.csv"
    assert main(["-q", "data", "ingest", str(timed), "--format", "csv", "--column", "ibi",
                 "--time-column", "time", "--out", str(out)]) == 0
    assert out.read_bytes() == ref.read_bytes()


@pytest.mark.parametrize("fmt,content,where", [
    ("rr-text", "800\n" * 3000 + "abc\n", "line 3001: non-numeric"),
    ("rr-text", "800\n" * 3000 + "nan\n", "line 3001"),
    ("polar", "Phone timestamp;RR-interval [ms]\n" + "".join(f"{1.7e9 + i:.1f};800\n" for i in range(3000))
     + "1.0;800\n", "line 3002: timestamp goes backwards"),
    ("csv", "a,rr\n" + "1,800\n" * 3000 + "1,800,9\n", "line 3002: expected 2 fields"),
    ("csv", "a,rr\r1,800\r", "line 1: a carriage return"),
    ("polar", "\ufeff", "line 1: expected a ';'-separated Polar header"),
])
def test_streamed_ingest_bad_input_leaves_nothing(tmp_path, monkeypatch, fmt, content, where):
    good = tmp_path / "good.txt"
    good.write_text("800\n810\n" if fmt == "rr-text" else
                    "Phone timestamp;RR-interval [ms]\n1.0;800\n" if fmt == "polar" else "a,rr\n1,800\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content.encode())
    out = tmp_path / "out.csv"
    out.write_text("the user's own file\n")
    monkeypatch.setattr(text_blocks, "BLOCK_BYTES", 256)  # the error lies several chunks in
    with pytest.raises(InputError) as ei:
        ingest_recordings([good, bad], out, fmt)
    msg = str(ei.value)
    assert msg.startswith(f"{bad}: ") and where in msg and "\n" not in msg
    assert out.read_text() == "the user's own file\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bad.txt", "good.txt", "out.csv"]


def _utc_seconds(s):
    from datetime import datetime, timezone

    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc).timestamp()


def test_iso_fast_path_gives_fromisoformat_seconds_or_declines():
    from edgekit.data.readers.text_numbers import iso_times_utc

    rng = np.random.default_rng(9)
    taken = 0
    for _ in range(400):
        n = int(rng.integers(1, 40))
        width = int(rng.choice([23, 26]))
        stamps = []
        for _ in range(n):
            y = int(rng.choice([1900, 2000, 2024, 2100, int(rng.integers(1800, 2201))]))
            if rng.random() < 0.005:
                y = int(rng.choice([1, 1600, 2300, 9999]))
            mo, d = int(rng.integers(1, 13)), int(rng.integers(1, 32))
            h, mi, se = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
            frac = int(rng.integers(0, 10 ** (width - 20)))
            stamps.append(f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{se:02d}.{frac:0{width - 20}d}")
        if rng.random() < 0.3:  # one near-miss: another form or an invalid time
            i = int(rng.integers(0, n))
            bad = rng.choice(["2024-02-30T10:00:00.000", "1900-02-29T10:00:00.000", "2023-04-31T10:00:00.000",
                              "2024-01-01T24:00:00.000", "2024-01-01T10:60:00.000", "2024-01-01T10:00:60.000",
                              "0000-01-01T10:00:00.000", "2024-01-01 10:00:00.000", "2024-01-01T10:00:00,000",
                              "2024-01-01T10:00:0a.000", "2024-13-01T10:00:00.000", "2024-1-01T10:00:00.0000"])
            stamps[i] = str(bad)
        try:
            want = np.array([_utc_seconds(s) for s in stamps])
        except ValueError:
            want = None
        got = iso_times_utc(stamps)
        if got is not None:
            taken += 1
            assert want is not None and np.array_equal(got, want), stamps
        elif (all(len(s) == width and s[10] == "T" and s[19] == "." and 1800 <= int(s[:4]) <= 2200 for s in stamps)
              and want is not None):  # outside about 1685-2255 the microseconds exceed 2**53: declined
            raise AssertionError(f"declined valid plain times {stamps}")
    assert taken > 200

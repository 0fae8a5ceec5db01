"""Apple Health export reader: fast path == strict path, locales, midnight, errors, memory, speed."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import bench_data
from benchmarks.bench_data import write_export
from edgekit.data.readers.apple_health import read_export
from edgekit.core.errors import InputError

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData ANY>\n]>\n'
        '<HealthData locale="en_US">\n')
HRV = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"


def _export(tmp_path, records, name="export.xml", extra_body=""):
    """records: [(startDate, [(bpm, time), ...])]"""
    parts = [HEAD, extra_body]
    for sd, beats in records:
        parts.append(f' <Record type="{HRV}" sourceName="W" startDate="{sd}" endDate="{sd}">\n'
                     "  <HeartRateVariabilityMetadataList>\n")
        parts += [f'   <InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n' for b, t in beats]
        parts.append("  </HeartRateVariabilityMetadataList>\n </Record>\n")
    parts.append("</HealthData>\n")
    p = tmp_path / name
    p.write_text("".join(parts), encoding="utf-8")
    return p


def _same(a, b):
    for c in ("segment", "time_s", "rr_ms", "flags"):
        assert np.array_equal(getattr(a, c), getattr(b, c)), c
    assert a.meta["records"] == b.meta["records"] and a.meta["beats"] == b.meta["beats"]


@pytest.fixture(scope="module")
def export4(tmp_path_factory):
    p = tmp_path_factory.mktemp("ah") / "export.xml"
    return p, write_export(p, target_mb=4.0)


def test_counts_exact_fast_equals_strict(export4):
    p, c = export4
    fast = read_export(p)
    assert fast.meta["path"] == "fast"
    assert len(fast) == c["beats"] - c["hrv_records"]
    assert fast.meta == {"records": c["hrv_records"], "beats": c["beats"], "path": "fast"}
    assert len(np.unique(fast.segment)) == c["hrv_records"]
    assert np.all(np.diff(fast.time_s) > 0) and np.all((fast.rr_ms > 500) & (fast.rr_ms < 1200))
    strict = read_export(p, strict=True)
    assert strict.meta["path"] == "strict"
    _same(fast, strict)
    # chunk boundaries anywhere (tags, records and beats split between chunks) change nothing
    for chunk in (4093, 65536 + 7):
        _same(read_export(p, chunk=chunk), fast)


def test_locales_and_midnight(tmp_path):
    nn = "\u202f"
    recs = [
        ("2024-01-01 23:59:58 +0100", [(60, "11:59:58.50 PM"), (60, "11:59:59.50 PM"), (60, "12:00:00.50 AM"),
                                       (60, "12:00:01.50 AM")]),
        ("2024-01-02 23:59:58 +0100", [(60, "23:59:58,5"), (60, "23:59:59,5"), (60, "00:00:00,5")]),
        ("2024-01-03 07:05:00 -0500", [(75, "7:05:00.5 a.m."), (75, "7:05:01.3 a.m.")]),
        ("2024-01-04 13:00:00 +0000", [(60, f"1:00:00.25{nn}PM"), (60, f"1:00:01.25{nn}PM")]),
        ("2024-01-05 10:00:00 +0000", [(60, "10.00.00.1"), (60, "10.00.01.1")]),  # dots (fi_FI)
    ]
    p = _export(tmp_path, recs)
    t = read_export(p)
    assert t.meta["path"] == "fast"
    assert t.rr_ms == pytest.approx([1000, 1000, 1000, 1000, 1000, 800, 1000, 1000], abs=1e-6)
    # midnight: the third beat of record 0 is on Jan 2 local (+0100)
    start0 = 1704149998.0  # 2024-01-01 23:59:58 +0100
    assert t.time_s[0] == pytest.approx(start0 + 1.5) and t.time_s[2] == pytest.approx(start0 + 3.5)
    assert t.segment.tolist() == [0, 0, 0, 1, 1, 2, 3, 4]
    _same(t, read_export(p, strict=True))


def test_gap_splits_segment_and_records_are_segments(tmp_path):
    recs = [("2024-01-01 10:00:00 +0000", [(60, "10:00:00.0"), (60, "10:00:01.0"), (60, "10:00:05.0"),
                                           (60, "10:00:06.0")]),
            ("2024-01-01 11:00:00 +0000", [(60, "11:00:00.0"), (60, "11:00:01.0")])]
    t = read_export(_export(tmp_path, recs))
    assert t.rr_ms.tolist() == [1000.0, 1000.0, 1000.0]
    assert t.segment.tolist() == [0, 1, 2]


def test_unusual_but_valid_forms_go_strict_with_same_result(tmp_path):
    recs = [("2024-01-01 10:00:00 +0000", [(60, "10:00:00.0"), (60, "10:00:01.0"), (61, "10:00:02.0")])]
    ref = read_export(_export(tmp_path, recs, "ref.xml"))
    assert ref.meta["path"] == "fast"
    for name, body in (("comment.xml", " <!-- a comment -->\n"), ("pi.xml", " <?x y?>\n"),
                       ("charref.xml", ' <Me name="&#65;"/>\n')):
        t = read_export(_export(tmp_path, recs, name, body))
        assert t.meta["path"] == "strict", name
        _same(t, ref)
    # single-quoted attributes, attribute order, &amp; in a value: strict, same numbers
    p = tmp_path / "quotes.xml"
    p.write_text(HEAD + f" <Record sourceName='A &amp; B' startDate='2024-01-01 10:00:00 +0000' type='{HRV}'>"
                 '<InstantaneousBeatsPerMinute time="10:00:00.0" bpm="60"/>'
                 "<InstantaneousBeatsPerMinute time='10:00:01.0' bpm='60'/>"
                 '<InstantaneousBeatsPerMinute bpm="61" time="10:00:02.0"/></Record>\n</HealthData>\n')
    t = read_export(p)
    _same(t, ref)


@pytest.mark.parametrize("body,msg,line", [
    ('<InstantaneousBeatsPerMinute bpm="60" time="25:00:00.0"/>', "not a time of day", 8),
    ('<InstantaneousBeatsPerMinute bpm="60" time="13:00:00.0 PM"/>', "not a time of day", 8),
    ('<InstantaneousBeatsPerMinute bpm="60" time="noon"/>', "not a time of day", 8),
    ('<InstantaneousBeatsPerMinute bpm="x" time="10:00:02.0"/>', "bpm", 8),
    ('<InstantaneousBeatsPerMinute bpm="0" time="10:00:02.0"/>', "bpm", 8),
    ('<InstantaneousBeatsPerMinute bpm="60"/>', "needs", 8),
    ('<InstantaneousBeatsPerMinute bpm="60" time="09:00:02.0"/>', "backwards", 8),
    ('<InstantaneousBeatsPerMinute bpm="60" time="10:00:02.0">', "malformed XML", 9),
])
def test_bad_beats_one_line_with_file_and_line(tmp_path, body, msg, line):
    p = tmp_path / "bad.xml"
    p.write_text(HEAD + f' <Record type="{HRV}" startDate="2024-01-01 10:00:00 +0000">\n'
                 '<InstantaneousBeatsPerMinute bpm="60" time="10:00:00.0"/>\n' + body + "\n</Record>\n</HealthData>\n")
    with pytest.raises(InputError) as ei:
        read_export(p)
    s = str(ei.value)
    assert msg in s and str(p) in s and f"line {line}" in s and "\n" not in s, s


def test_bad_start_date_and_not_an_export(tmp_path):
    p = _export(tmp_path, [("2024-13-01 10:00:00 +0000", [(60, "10:00:00.0")])])
    with pytest.raises(InputError, match=r"line 6: .*startDate"):
        read_export(p)
    p.write_text('<?xml version="1.0"?>\n<Other/>\n')
    with pytest.raises(InputError, match="no <HealthData>"):
        read_export(p)


def test_hostile_and_truncated(tmp_path):
    p = tmp_path / "e.xml"
    for decl in ('<!ENTITY a "aaaa">', '<!ENTITY x SYSTEM "file:///etc/passwd">', '<!ENTITY % p "x">'):
        p.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n{decl}]>\n<HealthData></HealthData>\n')
        with pytest.raises(InputError, match=r"e.xml: line 3: entity declaration refused"):
            read_export(p)
    p.write_text('<?xml version="1.0"?>\n<!DOCTYPE HealthData SYSTEM "http://example.invalid/x.dtd">\n'
                 "<HealthData>&ext;</HealthData>\n")
    t = read_export(p)  # the external DTD is never read, the reference is left unexpanded
    assert len(t) == 0 and t.meta["records"] == 0
    full = tmp_path / "f.xml"
    write_export(full, target_mb=0.3)
    data = full.read_bytes()
    for cut in (len(data) // 2, len(data) - 5):
        p.write_bytes(data[:cut])
        with pytest.raises(InputError, match=r"e.xml: line \d+, column \d+: truncated XML"):
            read_export(p)
    p.write_bytes(data[:1000] + b"<<" + data[1000:])
    with pytest.raises(InputError, match="malformed XML"):
        read_export(p)
    p.write_text("800\n810\n")
    with pytest.raises(InputError, match="not XML"):
        read_export(p)


def _child(path):
    r = subprocess.run([sys.executable, "-c", bench_data._CHILD, "stream", str(path)], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_memory_bounded_and_speed(tmp_path):
    """Peak RSS over the interpreter baseline stays small and does not follow the file size."""
    small, large = tmp_path / "s.xml", tmp_path / "l.xml"
    cs = write_export(small, target_mb=1.0)
    cl = write_export(large, target_mb=6.0)
    base = bench_data._baseline_rss_mb()
    rs, rl = _child(small), _child(large)
    assert rl["intervals"] == cl["beats"] - cl["hrv_records"] and rs["intervals"] == cs["beats"] - cs["hrv_records"]
    assert rl["path"] == "fast"
    # output rows (~35k intervals, ~1 MB) + 1 MiB chunks; reading the file whole would be 6+ MB more
    assert rl["peak_rss_mb"] - base < 30, (rl, base)
    assert rl["peak_rss_mb"] - rs["peak_rss_mb"] < 5, (rl, rs)


@pytest.mark.skipif(os.environ.get("EDGEKIT_SLOW") != "1", reason="300 MB export check: set EDGEKIT_SLOW=1")
def test_large_export_300mb(tmp_path):
    r = bench_data.check_large_export(workdir=tmp_path)
    s = r["stream"]
    assert s["counts_exact"], r
    assert s["peak_rss_mb"] < bench_data.LARGE_MAX_PEAK_MB, r
    assert s["mb_per_s"] >= bench_data.MIN_MB_PER_S, r
    assert r["ok"], r


_BPMS = ["78", "7", "178", "78.5", "60.450647", "88.9741", "399.9",  # 60.45…, 88.97…: digits / 10**k != int + frac / 10**k
          "1789", "78.1234567", "78.", "x", "0", "400"]
_TIMES = ["23:01:41.51", "1:00:00", "01.02.03,5", "11:59:58.50 PM", "12:00:00 AM", "1:00:00.25\u202fPM",
          "10:00:00.123456789012345", "00:00:00.000000000000001", "7:05:00.5 a.m.", "25:00:00", "13:00:00 PM",
          "10:60:00", "10:00:61", "10:00:00.1234567890123456", "10:00:00.", "10:00:00 XM", "10:0:00",
          "100:00:00", " 10:00:00", "10:00:00 pm"]
_FORMS = ['<InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>', '<InstantaneousBeatsPerMinute  bpm="{b}" time="{t}"/>',
          '<InstantaneousBeatsPerMinute bpm="{b}" time="{t}" />', "<InstantaneousBeatsPerMinute bpm='{b}' time='{t}'/>",
          '<InstantaneousBeatsPerMinute time="{t}" bpm="{b}"/>', '<InstantaneousBeatsPerMinute bpm="{b}"/>',
          '<InstantaneousBeatsPerMinuteX bpm="{b}" time="{t}"/>']


def test_plain_beats_match_the_regex_path_or_decline():
    """The byte-matrix parser (apple_beats.plain_beats) returns the regex path's exact numbers, or
    None where the regex path would use its general pattern or give up; plain exports never decline."""
    from edgekit.data.readers.apple_beats import plain_beats
    from edgekit.data.readers.apple_health import _Fallback, _regex_beats

    rng = np.random.default_rng(5)
    plain_ok = [b for b in _BPMS[:7]], [t for t in _TIMES[:8]]
    compared = 0
    for trial in range(600):
        parts, lo, hi = [b"<HealthData>"], [], []
        all_plain = trial % 2 == 0
        for _ in range(int(rng.integers(1, 4))):
            parts.append(b' <Record type="x">\n  <HeartRateVariabilityMetadataList>\n')
            lo.append(sum(map(len, parts)))
            for _ in range(int(rng.integers(0, 5))):
                if all_plain or rng.random() < 0.9:
                    b, t, f = rng.choice(plain_ok[0]), rng.choice(plain_ok[1]), _FORMS[0]
                else:
                    b, t = rng.choice(_BPMS), rng.choice(_TIMES)
                    f = _FORMS[0] if rng.random() < 0.7 else rng.choice(_FORMS)
                parts.append(("   " + f.format(b=b, t=t) + "\n").encode())
            hi.append(sum(map(len, parts)))
            parts.append(b"  </HeartRateVariabilityMetadataList>\n </Record>\n")
        buf = b"".join(parts)
        got = plain_beats(buf, np.array(lo), np.array(hi))
        if all_plain:
            assert got is not None, buf
        try:
            want = _regex_beats(buf, lo, hi)
        except _Fallback:
            want = None
        compared += got is not None and not all_plain
        if got is not None:
            assert want is not None, buf
            for g, w in zip(got, want):
                assert np.array_equal(g, w), buf
    assert compared > 100  # mixed buffers the parser took on, not only declined

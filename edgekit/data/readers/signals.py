"""PPG and ECG recordings as they come from wearables -> RR intervals (``--format ppg|ecg``).

Peaks are HeartPy's (van Gent et al. 2019, *Transportation Research Part F* 66:368; HeartPy 1.2.x),
with the settings its documentation gives for wrist PPG (the "Analysing Smartwatch Data" example):

1. **Sample times.** ``--sample-rate`` (an even grid; samples the device did not record, NaN or empty,
   filled by interpolation up to ``MAX_GAP_S``, longer gaps split parts), or a time column: HeartPy's millisecond
   timer, epoch milliseconds or seconds, or ISO datetimes (the last three place the recording on
   the clock). A watch logs samples when its OS gets to them: repeated and jittered times. Those are
   resampled to an even grid at the median sample interval (linear interpolation; samples at a
   repeated time averaged) with a warning naming how many; a pause longer than ``MAX_GAP_S`` splits
   the recording into parts, each processed alone (its own segment: no interval spans the pause).
   Times going backwards are refused with their line.
2. **Filtering.** PPG: 3rd-order Butterworth band-pass 0.7-3.5 Hz (42-210 bpm). ECG: baseline
   wander removed and peaks enhanced (``remove_baseline_wander``, ``enhance_ecg_peaks``).
3. **Low sample rates.** Below ``MIN_FS_HZ`` the filtered signal is upsampled (``resample_poly``)
   to at least 100 Hz: HeartPy's adaptive threshold needs it ("10Hz is low for the adaptive
   threshold analysis HeartPy uses").
4. **Peaks.** ``hp.process``, for PPG recorded below ``HIGH_PRECISION_BELOW_HZ`` (wrist sensors) with
   ``high_precision=True`` (peak positions re-estimated at ``high_precision_fs = 1000`` Hz, 1 ms).
   Inverted signals (``hp.flip_signal``'s case: the pulse recorded as dips): when the signal as
   recorded fails or HeartPy rejects more than half its peaks, the inverted signal is taken if it has
   ``FLIP_MARGIN`` more of its peaks accepted. When the whole part still fails or has more than half
   of its peaks rejected (a wrist signal whose amplitude varies minute to minute), the part is
   processed in ``SEGMENT_S`` pieces, each scaled and oriented alone, as HeartPy's smartwatch
   example does.
5. **Rejected peaks** stay: an interval touching one is flagged DETECTOR_REJECTED (cleaning
   interpolates it and counts it as an artifact).
6. **Device HR.** When the file has the device's own heart rate (``--hr-column``, or a column named
   ``hr``/``hrm``/``heart_rate``/``bpm`` next to the signal column), the derived HR is compared minute by
   minute with it (device values of 0 = not measured); a median difference above ``HR_CHECK_BPM``
   gives a warning. The comparison is in ``table.meta["hr_check"]``.

Warnings go to ``table.meta["warnings"]`` (one line each); the verbs print them.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgekit.data.rr import Flag, RRTable, read_text_file
from edgekit.core.errors import InputError
from edgekit.data.readers.csv_column import _find_column, _read_table
from edgekit.data.readers.rr_chunks import _number

MAX_GAP_S = 1.0  # a pause between samples longer than this splits a recording into parts
JITTER_SAMPLES = 0.5  # sample times off an even grid by more than this many intervals: resampled
COARSE_CLOCK_SHARE = 0.01  # more repeated times than this share: the clock is coarser than the sampling
MIN_FS_HZ = 50.0  # below this the filtered signal is upsampled for HeartPy's peak detection
UPSAMPLE_TO_HZ = 100.0
HIGH_PRECISION_FS = 1000.0
HIGH_PRECISION_BELOW_HZ = 100.0  # PPG recorded below this rate: peaks re-estimated at HIGH_PRECISION_FS
FLIP_MARGIN = 0.15  # the inverted signal must have this much more of its peaks accepted
SEGMENT_S = 60.0  # the piece length of the fallback for wrist signals
MIN_ACCEPTED = 0.5  # a whole part whose accepted-peak share is below this is processed in pieces
HR_CHECK_BPM = 10.0  # median per-minute |derived - device| HR above this gives a warning
SIGNAL_COLUMNS = ("ppg", "ecg", "signal", "value", "hr")  # the signal column when --column is absent
DEVICE_HR_COLUMNS = ("hrm", "heart_rate", "heartrate", "hr_bpm", "bpm")  # the device's HR (hr: see below)


def _heartpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartpy imports pkg_resources (deprecation warning)
        # deferred: HeartPy takes seconds to import; only ppg/ecg need it
        import heartpy as hp
    return hp


def _sample(text: str, path: Path, lineno: int) -> float:
    """One signal sample: a number, or NaN for a sample the device did not record ('', 'nan')."""
    s = text.strip().strip('"').strip()
    if s.lower() in ("", "nan", "na", "null"):
        return float("nan")
    return _number(s, path, lineno, "sample")


def _values(path: Path, column: str | None, time_column: str | None, hr_column: str | None):
    """(samples, (time column name, raw times, line numbers) or None, device HR or None)."""
    text = read_text_file(path)
    first = text.splitlines()[0]
    if re.search(r"[A-Za-z]", first) is None:
        if column is not None or time_column is not None or hr_column is not None:
            raise InputError(f"{path}: line 1: --column/--time-column/--hr-column given but the file has no header")
        vals = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            s = line.strip()
            if not s:
                continue
            if re.search(r"[;,\t]", s):
                raise InputError(f"{path}: line {lineno}: several fields; pass --column for a CSV")
            vals.append(_sample(s, path, lineno))
        return np.array(vals), None, None
    header, rows, nums = _read_table(path)
    low = [h.lower() for h in header]
    if column is None:
        cand = [i for i, h in enumerate(low) if h in SIGNAL_COLUMNS]
        if not cand:
            raise InputError(f"{path}: line 1: pass --column (columns: {', '.join(header)})")
        ic = cand[0]
    else:
        ic = _find_column(header, column, path)
    vals = np.array([_sample(r[ic], path, n) for r, n in zip(rows, nums)])
    times = None
    if time_column is not None:
        it = _find_column(header, time_column, path)
        times = (header[it], [r[it] for r in rows], nums)
    if hr_column is not None:
        ih = _find_column(header, hr_column, path)
    else:  # 'hr' names the device's HR only when another column is the signal (HeartPy's files call the PPG 'hr')
        found = [i for i, h in enumerate(low) if i != ic and (h in DEVICE_HR_COLUMNS or h == "hr")]
        ih = found[0] if found else None
    hr = None
    if ih is not None:
        hr = np.array([_number(r[ih], path, n, f"'{header[ih]}'") for r, n in zip(rows, nums)])
    return vals, times, hr


def sample_times(times, path: Path) -> tuple[np.ndarray, bool]:
    """(sample times s, on the clock?) of a time column: epoch ms (> 1e11) or s (> 1e8), HeartPy's
    ms timer (else), or ISO datetimes (naive = UTC). Times going backwards: one line naming it."""
    name, raw, nums = times
    try:
        v = np.array([float(x) for x in raw])
    except ValueError:
        v = None
    if v is not None:
        if not np.isfinite(v).all():
            i = int(np.flatnonzero(~np.isfinite(v))[0])
            raise InputError(f"{path}: line {nums[i]}: time column '{name}': not a finite number")
        big = float(np.max(np.abs(v))) if len(v) else 0.0
        t, clock = (v / 1000.0, True) if big > 1e11 else (v, True) if big > 1e8 else (v / 1000.0, False)
    else:
        try:
            dts = [datetime.fromisoformat(x.strip()) for x in raw]
        except ValueError:
            raise InputError(f"{path}: time column '{name}': expected a millisecond timer, epoch seconds or "
                             f"milliseconds, or 'YYYY-MM-DD HH:MM:SS.ffffff' datetimes") from None
        t = np.array([(d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp() for d in dts])
        clock = True
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        i = int(back[0]) + 1
        raise InputError(f"{path}: line {nums[i]}: time column '{name}' goes backwards")
    return t, clock


def even_parts(t: np.ndarray, x: np.ndarray, path: Path) -> tuple[list[tuple[float, np.ndarray, float]], str | None]:
    """Samples at times ``t`` (s, non-decreasing) as parts on an even grid: ([(start s, samples,
    sample rate Hz)], warning or None). Pauses longer than ``MAX_GAP_S`` (and 3 median intervals)
    split parts. In a part where more than ``COARSE_CLOCK_SHARE`` of the times repeat, the clock is
    coarser than the sampling (a 15.6 ms system timer; a batch of samples stamped on arrival): the
    samples are taken as evenly spaced at the part's mean rate. Otherwise a part whose times stray
    from an even grid by more than ``JITTER_SAMPLES`` intervals (samples taken when the OS got to
    them) is resampled by linear interpolation at the median interval, samples at a repeated time
    averaged."""
    u = np.unique(t)
    if len(u) < 2:
        raise InputError(f"{path}: the time column holds fewer than 2 distinct times")
    step = float(np.median(np.diff(u)))
    gap = max(MAX_GAP_S, 3 * step)
    cuts = np.flatnonzero(np.diff(t) > gap) + 1
    parts, n_rep, n_off, n_coarse, n_fixed = [], 0, 0, 0, 0
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t)]):
        tp, xp = t[a:b], x[a:b]
        if len(tp) < 2 or tp[-1] <= tp[0]:
            continue
        tu, inv, cnt = np.unique(tp, return_inverse=True, return_counts=True)
        rep = len(tp) - len(tu)
        n_rep += rep
        if rep > COARSE_CLOCK_SHARE * len(tp):
            parts.append((float(tp[0]), xp, (len(tp) - 1) / float(tp[-1] - tp[0])))
            n_coarse += 1
            continue
        xu = np.bincount(inv, weights=xp) / cnt
        k = np.arange(len(tu))
        off = np.abs(tu - (tu[0] + k * (tu[-1] - tu[0]) / (len(tu) - 1)))
        if rep or off.max() > JITTER_SAMPLES * step:
            grid = tu[0] + np.arange(int(np.floor((tu[-1] - tu[0]) / step + 1e-9)) + 1) * step
            parts.append((float(tu[0]), np.interp(grid, tu, xu), 1.0 / step))
            n_fixed += 1
            n_off += int((np.abs(np.diff(tu) - step) > 0.1 * step).sum())
        else:
            parts.append((float(tu[0]), xu, (len(tu) - 1) / float(tu[-1] - tu[0])))
    notes = []
    if n_fixed:
        notes.append(f"{n_rep if not n_coarse else 'some'} repeated and {n_off} irregular sample times (median "
                     f"interval {step * 1000:.0f} ms): resampled to an even {1.0 / step:.2f} Hz grid")
    if n_coarse:
        notes.append(f"{n_rep} of {len(t)} sample times repeat (a clock coarser than the sampling): samples taken as "
                     f"evenly spaced at the mean rate")
    if len(cuts):
        notes.append(f"{len(cuts)} pause(s) over {gap:g} s split the recording into {len(parts)} parts")
    return parts, (f"{path}: " + "; ".join(notes)) if notes else None


def finite_runs(x: np.ndarray, fs: float, path: Path) -> tuple[list[tuple[float, np.ndarray, float]], str | None]:
    """An evenly sampled signal with missing samples (NaN) as parts: a gap up to ``MAX_GAP_S`` is filled
    by linear interpolation, a longer one splits the signal. ([(start s, samples, fs)], warning or None)."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return [(0.0, x, fs)], None
    if bad.all():
        raise InputError(f"{path}: no sample holds a number")
    i = np.arange(len(x))
    edges = np.flatnonzero(np.diff(np.r_[0, bad.astype(np.int8), 0]))
    long_gaps = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a > MAX_GAP_S * fs]
    parts, start = [], 0
    for a, b in long_gaps + [(len(x), len(x))]:
        seg = slice(start, a)
        ok = ~bad[seg]
        if ok.sum() >= 2:
            xi = np.interp(i[seg], i[seg][ok], x[seg][ok])
            lo = int(np.argmax(ok))
            hi = len(ok) - int(np.argmax(ok[::-1]))
            parts.append(((start + lo) / fs, xi[lo:hi], fs))
        start = b
    note = (f"{path}: {int(bad.sum())} samples hold no value (NaN): gaps up to {MAX_GAP_S:g} s filled, "
            f"{len(long_gaps)} longer ones split the recording into {len(parts)} parts")
    return parts, note


def _run(hp, sig: np.ndarray, fs: float, high_precision: bool):
    """HeartPy on one signal: (peak positions in samples, accepted 0/1, share accepted) or None."""
    for hprec in ((True, False) if high_precision else (False,)):
        try:  # HeartPy's high precision fails on a peak at the very start of the signal: then without it
            wd, _ = hp.process(hp.scale_data(sig), fs, high_precision=hprec,
                               high_precision_fs=max(HIGH_PRECISION_FS, 2 * fs))
        except (hp.exceptions.BadSignalWarning, ValueError, IndexError, ZeroDivisionError, AssertionError):
            continue
        peaks = np.asarray(wd["peaklist"], np.float64)
        ok = np.asarray(wd["binary_peaklist"], np.int64)
        if len(peaks) >= 3 and len(ok) == len(peaks):
            return peaks, ok, float(ok.mean())
    return None


def _process(hp, sig: np.ndarray, fs: float, high_precision: bool):
    """HeartPy on ``sig`` as recorded, or inverted (``hp.flip_signal``'s case: the pulse recorded as
    dips) when the recorded orientation fails or HeartPy rejects more than half of its peaks and the
    inverted signal has ``FLIP_MARGIN`` more of its peaks accepted (a clear margin: an inverted PPG's
    dicrotic notch can pass for a beat)."""
    as_is = _run(hp, sig, fs, high_precision)
    if as_is is not None and as_is[2] >= MIN_ACCEPTED:
        return as_is
    flipped = _run(hp, -sig, fs, high_precision)
    if flipped is not None and (as_is is None or flipped[2] >= as_is[2] + FLIP_MARGIN):
        return flipped
    return as_is


def _filtered(hp, x: np.ndarray, fs: float, kind: str) -> tuple[np.ndarray, float]:
    """The part filtered as HeartPy documents for ``kind``, upsampled when ``fs`` is low."""
    if kind == "ppg":
        sig = hp.filter_signal(x, cutoff=[0.7, 3.5], sample_rate=fs, order=3, filtertype="bandpass")
    else:
        sig = hp.remove_baseline_wander(x, fs)
        sig = hp.enhance_ecg_peaks(hp.scale_data(sig), fs, aggregation="median", iterations=2)
    if fs < MIN_FS_HZ:
        # deferred: scipy.signal takes a second to import; only this path needs it
        from scipy.signal import resample_poly

        k = int(np.ceil(UPSAMPLE_TO_HZ / fs))
        sig, fs = resample_poly(sig, k, 1), fs * k
    return np.asarray(sig, np.float64), fs


def _beats(hp, x: np.ndarray, fs: float, kind: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(peak times s from the part's start, accepted 0/1)] per piece of one part."""
    sig, fs2 = _filtered(hp, x, fs, kind)
    hprec = kind == "ppg" and fs < HIGH_PRECISION_BELOW_HZ
    whole = _process(hp, sig, fs2, hprec)
    if whole is not None and whole[2] >= MIN_ACCEPTED:
        return [(whole[0] / fs2, whole[1])]
    n = int(round(SEGMENT_S * fs2))
    out = []
    for a in range(0, len(sig), n):
        piece = sig[a:a + n]
        if len(piece) < 10 * fs2:
            continue
        got = _process(hp, piece, fs2, hprec)
        if got is not None:
            out.append(((a + got[0]) / fs2, got[1]))
    if not out and whole is not None:
        return [(whole[0] / fs2, whole[1])]
    return out


def read_signal(path: Path, kind: str, sample_rate: float | None = None, column: str | None = None,
                time_column: str | None = None, hr_column: str | None = None) -> RRTable:
    """Raw PPG/ECG samples -> HeartPy peaks -> RR intervals (module docstring: the steps)."""
    hp = _heartpy()
    path = Path(path)
    vals, times, device_hr = _values(path, column, time_column, hr_column)
    notes: list[str] = []
    if sample_rate is None:
        if times is None:
            raise InputError(f"{path}: --sample-rate is required (or --time-column to derive it)")
        t, clock = sample_times(times, path)
        ok = np.isfinite(vals)
        if not ok.any():
            raise InputError(f"{path}: no sample holds a number")
        if not ok.all():
            notes.append(f"{path}: {int((~ok).sum())} samples hold no value (NaN): left out")
        parts, note = even_parts(t[ok], vals[ok], path)
        if note:
            notes.append(note)
        if not clock:
            parts = [(start - t[0], x, fs) for start, x, fs in parts]
        seconds = float(t[-1] - t[0])
    else:
        if not sample_rate > 0:
            raise InputError(f"{path}: sample rate must be positive, got {sample_rate}")
        t = None
        parts, note = finite_runs(vals, float(sample_rate), path)
        if note:
            notes.append(note)
        seconds = len(vals) / sample_rate
    if seconds < 5.0 or not any(len(x) >= 5 * fs for _, x, fs in parts):
        raise InputError(f"{path}: only {len(vals)} samples ({seconds:.1f} s); need >= 5 s")
    seg, ts, rr, fl = [], [], [], []
    k = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start, x, fs in parts:
            if len(x) < 5 * fs:
                continue
            for peaks_s, ok in _beats(hp, x, fs, kind):
                if len(peaks_s) < 3:
                    continue
                tt = start + peaks_s
                ts.append(tt[1:])
                rr.append(np.diff(tt) * 1000.0)
                fl.append(np.where((ok[1:] == 0) | (ok[:-1] == 0), int(Flag.DETECTOR_REJECTED), 0))
                seg.append(np.full(len(tt) - 1, k))
                k += 1
    if not rr:
        raise InputError(f"{path}: HeartPy found no usable {kind.upper()} peaks (in the whole recording nor in any "
                         f"{SEGMENT_S:g} s part; is it a {kind.upper()} signal? check --format, --column and "
                         f"--sample-rate)")
    table = RRTable(np.full(sum(map(len, rr)), path.stem), np.concatenate(seg), np.concatenate(ts),
                    np.concatenate(rr), np.concatenate(fl).astype(np.int64))
    if device_hr is not None and t is not None:
        check = hr_check(table, t, device_hr)
        table.meta["hr_check"] = check
        if check["minutes"] and check["median_abs_diff_bpm"] > HR_CHECK_BPM:
            notes.append(f"{path}: the HR derived from the {kind.upper()} differs from the device's own HR by a median "
                         f"{check['median_abs_diff_bpm']:.0f} bpm per minute ({check['minutes']} minutes; derived "
                         f"{check['derived_bpm']:.0f}, device {check['device_bpm']:.0f}): the peaks found may not be "
                         f"beats (check --format and --column)")
    table.meta["warnings"] = notes
    return table


def hr_check(table: RRTable, t: np.ndarray, device_hr: np.ndarray) -> dict:
    """Derived HR (median of the minute's accepted intervals) against the device's mean HR (values > 0)
    per minute of the recording: minutes compared, median |difference|, share within 5 bpm."""
    ok = (table.flags & int(Flag.DETECTOR_REJECTED)) == 0
    start = float(t[0])
    diffs, der, dev = [], [], []
    for m in range(int((t[-1] - start) // 60.0) + 1):
        lo, hi = start + 60.0 * m, start + 60.0 * (m + 1)
        sel = ok & (table.time_s >= lo) & (table.time_s < hi)
        w = (t >= lo) & (t < hi) & (device_hr > 0)
        if sel.sum() < 10 or not w.any():
            continue
        d = 60000.0 / float(np.median(table.rr_ms[sel]))
        h = float(device_hr[w].mean())
        diffs.append(abs(d - h))
        der.append(d)
        dev.append(h)
    if not diffs:
        return {"minutes": 0}
    a = np.array(diffs)
    return {"minutes": len(a), "median_abs_diff_bpm": float(np.median(a)), "within_5_bpm": int((a <= 5).sum()),
            "derived_bpm": float(np.median(der)), "device_bpm": float(np.median(dev))}

"""The ``data`` stage: config ``[data]`` -> ``build/<model>/data/windows.npz`` + ``summary.json``.

See docs/pipeline.md for the file contract and docs/data.md for the definitions. Each task spec
names its :class:`Examples`: :mod:`.beat_examples`, :mod:`.hourly_examples`, :mod:`.workout_examples`.
"""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from pathlib import Path

import numpy as np

from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path, write_json
from edgekit.data.influx.read_back import load_influx
from edgekit.data.readers.labelled import load_labelled_files, require_target
from edgekit.data.signal.baseline import personal_baseline
from edgekit.data.signal.clean import clean
from edgekit.data.synth import cohort as synth

def write_npz_deterministic(path: str | Path, arrays: dict[str, np.ndarray]) -> str:
    """Write an .npz (readable by np.load) whose bytes depend only on the arrays; returns sha256.

    np.savez stamps the current time into the zip entries; here every entry has a fixed date, a
    fixed order (as given) and no compression. Each array goes from memory to the (atomic) file
    directly, without a copy of the archive in memory.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, arr in arrays.items():
                arr = np.ascontiguousarray(arr)
                head = io.BytesIO()
                np.lib.format.write_array_header_1_0(head, np.lib.format.header_data_from_array_1_0(arr))
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.file_size = len(head.getvalue()) + arr.nbytes  # as ZipFile.writestr sets it
                with zf.open(info, mode="w") as dest:
                    dest.write(head.getvalue())
                    dest.write(memoryview(arr.reshape(-1).view(np.uint8)))
        h = hashlib.sha256()
        with open(tmp, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 24), b""):
                h.update(block)
    return h.hexdigest()


def _load_source(cfg, examples: "Examples"):
    """Return (clean result, labels) for the configured data source.

    ``labels`` is the synthetic :class:`~edgekit.data.synth.cohort.Cohort` or, for ``data.source =
    "files"`` / ``"influxdb"``, the :class:`~edgekit.data.readers.labelled.LabelledData` of the inputs.
    """
    d = cfg.data
    if d.source == "synthetic":
        cohort = synth.generate(d.subjects, d.days, d.seed, **_recordings_kw(d))
        res = clean(cohort.table, d.clean, d.min_rr_ms, d.max_rr_ms)
        return res, cohort
    if d.source == "influxdb":
        data = load_influx(cfg)
    else:
        data = load_labelled_files(cfg)
    examples.require_target(data, data.where)
    res = clean(data.table, d.clean, d.min_rr_ms, d.max_rr_ms)
    return res, data


class Examples:
    """How a model's training examples are made from cleaned RR tables (a task spec picks one).

    The data stage feeds it one cleaned chunk at a time (:meth:`add`), then :meth:`finish` joins the
    chunks into the arrays of ``windows.npz`` and the summary's counts. ``target`` names the label
    a labelled file must carry (``label`` or ``fatigue_score``); ``purpose`` says, for errors,
    what the examples train.
    """

    target: str = ""
    purpose: str = ""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def add(self, res, labels) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self, labels) -> tuple[dict[str, np.ndarray], dict]:  # pragma: no cover - interface
        raise NotImplementedError

    def make(self) -> tuple[dict, dict[str, np.ndarray], dict]:
        """(summary head, arrays, summary counts) of the configured RR source: the synthetic cohort
        chunk by chunk (memory does not grow with the cohort), files or InfluxDB."""
        cfg = self.cfg
        d = cfg.data
        if d.source == "synthetic":
            clean_stats, arrays, s = _synthetic_chunked(cfg, self)
        else:
            res, labels = _load_source(cfg, self)
            clean_stats = _clean_stats([res])
            baseline = _baseline_summary(res.table)
            self.add(res, labels)
            arrays, s = self.finish(labels)
        summary: dict = {
            "source": d.source,
            "synthetic": d.source == "synthetic",
            "model_type": cfg.model.type,
            "clean": d.clean,
            **clean_stats,
            "max_artifact_pct": d.max_artifact_pct,
        }
        if d.source == "synthetic":
            summary["note"] = ("SYNTHETIC cohort (simulated RR, no real subjects); see "
                               "docs/synthetic_cohort.md")
            summary.update({"subjects": d.subjects, "days": d.days, "seed": d.seed})
            if _recordings_kw(d):
                summary["profiles"] = list(d.profiles)
                summary["recording_stats"] = getattr(self, "recording_stats", None)
        else:
            summary["inputs"] = [Path(p).name for p in labels.inputs]
            summary["synthetic"] = labels.synthetic
            summary["baseline"] = baseline
            if labels.synthetic:
                summary["note"] = ("SYNTHETIC data (files written by 'edgekit data synth'; simulated RR, "
                                   "no real subjects); see docs/synthetic_cohort.md")
        return summary, arrays, s

    def require_target(self, data, where: str) -> None:
        """One-line :class:`InputError` when labelled ``data`` lacks this target."""
        require_target(data, self.target, self.purpose, where)


def _baseline_summary(cleaned) -> dict:
    """Per subject of a build's files: the wearer's own baseline (edgekit.data.signal.baseline; days and
    night hours in UTC), its latest day and the days per trend word, for the report."""
    return {s: b.to_json(days=False) for s, b in personal_baseline(cleaned).items()}


def run(cfg, build_dir: Path, examples: Examples) -> dict:
    """Build the model's training examples with ``examples`` (the model's task spec chooses it).
    Returns the summary (also written to summary.json)."""
    t0 = time.perf_counter()
    out_dir = Path(build_dir) / cfg.name / "data"
    summary, arrays, s = examples.make()
    summary.update(s)
    if summary["n_windows"] == 0:
        raise EdgekitError(f"data stage: no usable windows for {cfg.name} (all excluded or too short: "
                           f"{_exclusions(summary)})")
    out_dir.mkdir(parents=True, exist_ok=True)  # only now: a refusal leaves no empty directory
    summary["fingerprint"] = write_npz_deterministic(out_dir / "windows.npz", arrays)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    write_json(out_dir / "summary.json", summary)
    return summary


def _exclusions(summary: dict) -> str:
    """The counts that say why examples were excluded, for the 'no usable windows' line."""
    keys = ("n_beats_clean", "n_excluded_artifact", "n_excluded_label", "n_too_few_present_hours",
            "n_without_next_24h", "n_without_previous_score")
    return ", ".join(f"{k} {summary[k]}" for k in keys if summary.get(k) is not None) or "no counts"


def _clean_stats(results) -> dict:
    """Summary counts of one or more :class:`~edgekit.data.signal.clean.CleanResult` (or of their
    :func:`_clean_stats` dicts), summed."""
    counts: dict = {}
    out = {"n_beats_in": 0, "n_beats_clean": 0, "n_out_of_bounds": 0, "n_corrected": 0}
    for r in results:
        if not isinstance(r, dict):
            r = {"n_beats_in": r.n_in, "n_beats_clean": len(r.table), "n_out_of_bounds": r.n_out_of_bounds,
                 "n_corrected": r.n_corrected, "corrections": r.counts}
        for k in out:
            out[k] += int(r[k])
        for k, v in r["corrections"].items():
            counts[k] = counts.get(k, 0) + v
    return {**out, "corrections": counts}


def _synthetic_chunked(cfg, examples: "Examples"):
    """The synthetic source, a chunk of subjects at a time (synth.iter_cohort): generate, clean and
    make the examples of each chunk, keep only those. Cleaning and windows never cross a segment,
    and segments never cross subjects, so the result is the one of the whole cohort at once (tests
    compare the bytes). Returns (clean stats, arrays, summary part)."""
    d = cfg.data
    stats = []
    labels = None
    for chunk in synth.iter_cohort(d.subjects, d.days, d.seed, **_recordings_kw(d)):
        labels = chunk
        res = clean(chunk.table, d.clean, d.min_rr_ms, d.max_rr_ms)
        del chunk.table, chunk.truth, chunk.clean_rr  # the chunk's beats: only the cleaned ones stay
        stats.append(_clean_stats([res]))
        examples.add(res, chunk)
        del res
    if labels is not None and labels.recording_stats is not None:
        examples.recording_stats = labels.recording_stats
    arrays, s = examples.finish(labels)
    return _clean_stats(stats), arrays, s


def _recordings_kw(d) -> dict:
    """``recordings=`` for synth when the config mixes recording profiles (none for the default spot
    cohort, whose calls stay exactly as they were)."""
    profiles = list(getattr(d, "profiles", ["spot"]))
    return {} if profiles == ["spot"] else {"recordings": profiles}



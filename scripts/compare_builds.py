"""Compare two build trees file by file: which outputs are byte-identical, which differ and how.

Every file's SHA-256 is compared (``.mlpackage`` directories file by file); the files are grouped as
identical / differ / only in A / only in B. A differing file is looked into where its format allows:

- ``.npz`` (windows, test sets): per array, dtype, shape and bytes;
- ``.pt`` (checkpoints): the state dict's tensors (dtype, shape, bytes), the other top-level keys by
  value, and the members of torch's zip container (their names carry the archive's folder name);
- ``.json`` (stamps, records): which top-level keys differ.

    PYTHONPATH=. python scripts/compare_builds.py BUILD_A BUILD_B [--only-differences]

Exits 0 when every file is identical, 1 otherwise. Used to check that a refactor changed no build
output (DESIGN.md: determinism; issue 25: byte identity of windows, weights and ``.mlpackage``).
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from edgekit.core.fileio import sha256_file


def files_of(root: Path) -> dict[str, Path]:
    """Every file below ``root`` by its relative POSIX path."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _array_lines(name: str, a: np.ndarray, b: np.ndarray) -> list[str]:
    if a.dtype != b.dtype or a.shape != b.shape:
        return [f"{name}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"]
    if a.tobytes() == b.tobytes():
        return []
    diff = ""
    if a.dtype.kind in "fiu":
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        diff = f", max |a-b| {np.nanmax(d):.3g}"
    return [f"{name}: {int(np.sum(a != b))} of {a.size} values differ{diff}"]


def explain_npz(a: Path, b: Path) -> list[str]:
    with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
        lines = [f"array only in {side}: {k}" for side, ks in (("A", set(za) - set(zb)), ("B", set(zb) - set(za)))
                 for k in sorted(ks)]
        for k in sorted(set(za) & set(zb)):
            lines += _array_lines(k, za[k], zb[k])
    return lines or ["every array identical (dtype, shape, bytes): the container differs"]


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def explain_pt(a: Path, b: Path) -> list[str]:
    import torch  # deferred on purpose: only a differing checkpoint needs it (seconds to import)

    pa = torch.load(a, map_location="cpu", weights_only=True)
    pb = torch.load(b, map_location="cpu", weights_only=True)
    sa, sb = pa.pop("state_dict", {}), pb.pop("state_dict", {})
    lines = [f"tensor only in {side}: {k}" for side, ks in (("A", set(sa) - set(sb)), ("B", set(sb) - set(sa)))
             for k in sorted(ks)]
    same = 0
    for k in sorted(set(sa) & set(sb)):
        diff = _array_lines(k, sa[k].numpy(), sb[k].numpy())
        lines += diff
        same += not diff
    lines.append(f"state dict: {same} of {len(set(sa) | set(sb))} tensors identical (dtype, shape, bytes)")
    for k in sorted(set(pa) | set(pb)):
        if pa.get(k, "<absent>") != pb.get(k, "<absent>"):
            lines.append(f"key {k!r}: {pa.get(k, '<absent>')!r} vs {pb.get(k, '<absent>')!r}")
    ma, mb = _zip_members(a), _zip_members(b)
    changed = sorted(n for n in set(ma) | set(mb) if ma.get(n) != mb.get(n))
    lines.append(f"zip members differing: {', '.join(changed)}" if changed
                 else "zip members identical (names, bytes): only the zip headers differ")
    return lines


def explain_json(a: Path, b: Path) -> list[str]:
    try:
        ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    except (ValueError, UnicodeDecodeError):
        return ["not JSON"]
    if not (isinstance(ja, dict) and isinstance(jb, dict)):
        return ["JSON values differ"]
    keys = sorted(k for k in set(ja) | set(jb) if ja.get(k) != jb.get(k))
    return [f"top-level keys differing: {', '.join(keys)}"]


EXPLAIN = {".npz": explain_npz, ".pt": explain_pt, ".json": explain_json}


def compare(a_root: Path, b_root: Path) -> dict[str, list]:
    """{"identical": [rel], "differ": [(rel, [detail lines])], "only_a": [rel], "only_b": [rel]}."""
    fa, fb = files_of(a_root), files_of(b_root)
    out: dict[str, list] = {"identical": [], "differ": [], "only_a": sorted(set(fa) - set(fb)),
                            "only_b": sorted(set(fb) - set(fa))}
    for rel in sorted(set(fa) & set(fb)):
        if sha256_file(fa[rel]) == sha256_file(fb[rel]):
            out["identical"].append(rel)
            continue
        explain = EXPLAIN.get(Path(rel).suffix)
        try:
            detail = explain(fa[rel], fb[rel]) if explain else []
        except Exception as exc:  # a damaged file is a difference to show, not a crash
            detail = [f"could not be read: {type(exc).__name__}: {exc}"]
        out["differ"].append((rel, detail))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path, help="first build directory")
    ap.add_argument("b", type=Path, help="second build directory")
    ap.add_argument("--only-differences", action="store_true",
                    help="do not list the identical files (default: list every file)")
    args = ap.parse_args(argv)
    for root in (args.a, args.b):
        if not root.is_dir():
            print(f"compare_builds: error: {root}: not a directory", file=sys.stderr)
            return 2
    res = compare(args.a, args.b)
    w = sys.stdout.write
    w(f"identical: {len(res['identical'])}\n")
    if not args.only_differences:
        for rel in res["identical"]:
            w(f"  {rel}\n")
    w(f"differ: {len(res['differ'])}\n")
    for rel, detail in res["differ"]:
        w(f"  {rel}\n")
        for line in detail:
            w(f"      {line}\n")
    for key, side in (("only_a", "A"), ("only_b", "B")):
        w(f"only in {side}: {len(res[key])}\n")
        for rel in res[key]:
            w(f"  {rel}\n")
    return 0 if not (res["differ"] or res["only_a"] or res["only_b"]) else 1


if __name__ == "__main__":
    sys.exit(main())

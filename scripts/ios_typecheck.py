#!/usr/bin/env python3
"""Type-check every non-test target of a Swift package for iOS on Linux, against an iOS SDK.

    python scripts/ios_typecheck.py --sdk PATH/iPhoneOS.sdk [--package build/ios/HRVKit]

What it does, and why each step is needed (measured with Swift 6.3.1 on Linux):

- Reads the package with ``swift package dump-package`` and compiles each regular/executable
  target in dependency order as its own module (``-wmo``: all files of a target in one frontend,
  so errors after the first failing file are not dropped), importing the modules of the targets it
  depends on. Test targets are skipped: XCTest is not part of the SDK.
- Compiles to SIL (``-emit-sil``), not ``-typecheck``: ``-typecheck`` stops before SIL and so
  silently skips Swift 6's data-race (region isolation) and definite-initialisation diagnostics.
- Language mode Swift 6 (complete data-race checking) unless ``--swift-version`` says otherwise.
- The deployment target is the package's own iOS platform (``.iOS("17.0")`` ⇒
  ``arm64-apple-ios17.0``), as Xcode would build it. An SDK older than that target still works:
  every API it holds is older than the target; an API newer than the SDK is reported missing
  (use a newer SDK then).
- The Linux toolchain's resource directory holds Linux module maps (``dispatch``, ``os``, …) that
  shadow the SDK's, so a private resource directory is built holding only links to the
  toolchain's ``clang``, ``shims``, ``host`` and ``migrator`` plus the Darwin API notes for
  ``Dispatch`` and ``os`` that Xcode's toolchain installs. The notes are written here, minimal:
  just the Swift names the SDK's ``Dispatch``/``os`` Swift interfaces refer to. With iOS 16.x
  interfaces, ``_os_log_impl`` and ``_os_signpost_emit_with_name_impl`` must be SwiftPrivate
  (the interfaces call ``___os_log_impl``), not hidden as newer toolchains have them.
- A target with resources gets a stand-in for SwiftPM's generated ``Bundle.module`` accessor.

It proves the code compiles (types, availability, Sendable and actor isolation) against the real
SDK headers and Swift interfaces; it links nothing and runs nothing, so it cannot run the models
or HealthKit. Exit status: 0 with no errors, 1 with errors (or warnings under
``--warnings-as-errors``), 2 when it cannot run (one line ``ios-typecheck: error: ...``).
Only the Python standard library is used so the script runs with any Python 3.10+.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

TOOLCHAIN_DIRS = ("clang", "shims", "host", "migrator")

# Swift names of the Darwin C modules that the SDK's Swift interfaces of Dispatch and os use.
DISPATCH_SOURCE_PROTOCOLS = {
    "OS_dispatch_source": "DispatchSourceProtocol",
    "OS_dispatch_source_mach_send": "DispatchSourceMachSend",
    "OS_dispatch_source_mach_recv": "DispatchSourceMachReceive",
    "OS_dispatch_source_memorypressure": "DispatchSourceMemoryPressure",
    "OS_dispatch_source_proc": "DispatchSourceProcess",
    "OS_dispatch_source_read": "DispatchSourceRead",
    "OS_dispatch_source_signal": "DispatchSourceSignal",
    "OS_dispatch_source_timer": "DispatchSourceTimer",
    "OS_dispatch_source_data_or": "DispatchSourceUserDataOr",
    "OS_dispatch_source_data_add": "DispatchSourceUserDataAdd",
    "OS_dispatch_source_data_replace": "DispatchSourceUserDataReplace",
    "OS_dispatch_source_vnode": "DispatchSourceFileSystemObject",
    "OS_dispatch_source_write": "DispatchSourceWrite",
}
DISPATCH_CLASSES = {
    "OS_dispatch_object": "DispatchObject",
    "OS_dispatch_queue": "DispatchQueue",
    "OS_dispatch_io": "DispatchIO",
    "OS_dispatch_semaphore": "DispatchSemaphore",
    "OS_dispatch_group": "DispatchGroup",
    "OS_dispatch_source": "DispatchSource",
    "OS_dispatch_data": "__DispatchData",
}


def _entries(items: list[tuple[str, str, str]]) -> str:
    return "".join(f"- Name: {name}\n  {key}: {value}\n" for name, key, value in items)


def api_notes() -> dict[str, str]:
    """The API-notes YAML files (file name → text) for the private resource directory."""
    dispatch = (
        "Name: Dispatch\nClasses:\n"
        + _entries([(c, "SwiftName", s) for c, s in DISPATCH_CLASSES.items()]
                   + [("OS_dispatch_queue_attr", "SwiftPrivate", "true")])
        + "Protocols:\n"
        + _entries([(p, "SwiftName", s) for p, s in DISPATCH_SOURCE_PROTOCOLS.items()])
        + "Typedefs:\n"
        + _entries([("dispatch_autorelease_frequency_t", "SwiftPrivate", "true"),
                    ("dispatch_source_type_t", "SwiftPrivate", "true")])
    )
    os_notes = (
        "Name: os\nClasses:\n"
        + _entries([("OS_os_log", "SwiftName", "OSLog")])
        + "Typedefs:\n"
        + _entries([("os_log_type_t", "SwiftName", "OSLogType"),
                    ("os_signpost_type_t", "SwiftName", "OSSignpostType")])
        + "Functions:\n"
        + _entries([("os_log_type_enabled", "SwiftName", "'OSLog.isEnabled(self:type:)'"),
                    ("_os_log_impl", "SwiftPrivate", "true"),
                    ("_os_signpost_emit_with_name_impl", "SwiftPrivate", "true")])
    )
    return {"Dispatch.apinotes": dispatch, "os.apinotes": os_notes}


class SetupError(Exception):
    """The check cannot run (no SDK, no toolchain, unreadable package)."""


@dataclass
class Target:
    name: str
    kind: str  # "regular" or "executable"
    directory: Path
    sources: list[Path]
    dependencies: list[str]
    has_resources: bool
    flags: list[str] = field(default_factory=list)


@dataclass
class Diagnostic:
    kind: str  # "error" or "warning"
    text: str  # the compiler's line
    ours: bool  # located in the package (not in the SDK or the toolchain)


def find_swiftc(explicit: str | None) -> Path:
    path = explicit or shutil.which("swiftc")
    if not path:
        raise SetupError("swiftc not found on PATH (install a Swift 6 toolchain or pass --swiftc)")
    return Path(os.path.abspath(path))  # not resolved: swiftc is a link the driver reads its name from


def make_resource_dir(swiftc: Path, into: Path) -> Path:
    """A resource dir without the Linux module maps: toolchain links plus Darwin API notes."""
    lib = swiftc.resolve().parent.parent / "lib" / "swift"
    rd = into / "resource-dir"
    (rd / "apinotes").mkdir(parents=True)
    for name in TOOLCHAIN_DIRS:
        if not (lib / name).exists():
            raise SetupError(f"{lib / name}: missing from the Swift toolchain")
        (rd / name).symlink_to(lib / name)
    for name, text in api_notes().items():
        (rd / "apinotes" / name).write_text(text, encoding="utf-8")
    return rd


def dump_package(package: Path, swift: Path) -> dict:
    proc = subprocess.run([str(swift), "package", "dump-package"], cwd=package, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["swift package dump-package failed"])[-1]
        raise SetupError(f"{package / 'Package.swift'}: {last}")
    return json.loads(proc.stdout)


def _swift_settings(target: dict, name: str) -> list[str]:
    flags: list[str] = []
    for setting in target.get("settings") or []:
        if setting.get("tool") != "swift":
            continue
        cond = setting.get("condition") or {}
        platforms = [p.get("name") for p in cond.get("platformNames", [])] if cond else []
        if platforms and "ios" not in platforms:
            continue
        kind = setting.get("kind") or {}
        if "define" in kind:
            flags += ["-D", kind["define"]["_0"]]
        elif "unsafeFlags" in kind:
            flags += list(kind["unsafeFlags"]["_0"])
        elif "enableUpcomingFeature" in kind:
            flags += ["-enable-upcoming-feature", kind["enableUpcomingFeature"]["_0"]]
        elif "enableExperimentalFeature" in kind:
            flags += ["-enable-experimental-feature", kind["enableExperimentalFeature"]["_0"]]
        else:
            print(f"ios-typecheck: note: target {name}: setting {sorted(kind)} is not applied", file=sys.stderr)
    return flags


def package_targets(package: Path, manifest: dict) -> list[Target]:
    """Non-test targets in dependency order (a target comes after the targets it imports)."""
    raw = {t["name"]: t for t in manifest.get("targets", [])}
    chosen: dict[str, Target] = {}
    for name, t in raw.items():
        if t.get("type") not in ("regular", "executable"):
            continue  # test targets need XCTest (not in the SDK); plugins/macros run on the host
        directory = package / (t.get("path") or f"Sources/{name}")
        excluded = [directory / e for e in (t.get("exclude") or [])]
        excluded += [directory / r["path"] for r in (t.get("resources") or [])]
        roots = [directory / s for s in t["sources"]] if t.get("sources") else [directory]
        sources = sorted(
            f for root in roots for f in ([root] if root.is_file() else root.rglob("*.swift"))
            if f.suffix == ".swift" and not any(f == e or e in f.parents for e in excluded))
        deps = []
        for d in t.get("dependencies") or []:
            key = next(iter(d))
            dep = d[key][0]
            if key == "product" or dep not in raw:
                raise SetupError(f"target {name}: dependency {dep!r} is outside the package (not supported)")
            deps.append(dep)
        chosen[name] = Target(name, t["type"], directory, sources, deps, bool(t.get("resources")),
                              _swift_settings(t, name))
    ordered: list[Target] = []
    state: dict[str, str] = {}

    def visit(name: str) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise SetupError(f"target {name}: dependency cycle")
        state[name] = "visiting"
        for dep in chosen[name].dependencies:
            if dep not in chosen:
                raise SetupError(f"target {name}: depends on the test target {dep}")
            visit(dep)
        state[name] = "done"
        ordered.append(chosen[name])

    for name in chosen:
        visit(name)
    return ordered


def ios_version(manifest: dict, override: str | None) -> str:
    if override:
        return override
    for p in manifest.get("platforms") or []:
        if p.get("platformName") == "ios":
            return p["version"]
    raise SetupError("the package declares no iOS platform; pass --deployment-target")


BUNDLE_ACCESSOR = """\
// Stand-in for the `Bundle.module` accessor SwiftPM generates for a target with resources
// (written by edgekit's ios-typecheck, type-check only).
import Foundation

extension Foundation.Bundle {
    static var module: Bundle { Bundle.main }
}
"""

DIAG = re.compile(r"^(?:(?P<file>[^\n]*?):\d+:\d+: |(?:<unknown>:0: )?)(?P<kind>error|warning): ")


def parse_diagnostics(output: str, package: Path) -> list[Diagnostic]:
    out = []
    root = str(package.resolve())
    for line in output.splitlines():
        m = DIAG.match(line)
        if m:
            file = m.group("file") or ""
            out.append(Diagnostic(m.group("kind"), line, file.startswith(root)))
    return out


def check(package: Path, sdk: Path, *, swiftc: Path, work: Path, module_cache: Path,
          deployment_target: str | None, swift_version: str, verbose: bool) -> dict:
    """Compile every non-test target to SIL; returns the summary (per target and in total)."""
    if not (sdk / "SDKSettings.json").is_file() and not (sdk / "SDKSettings.plist").is_file():
        raise SetupError(f"{sdk}: not an SDK (no SDKSettings.json/.plist)")
    if not (sdk / "usr" / "lib" / "swift").is_dir():
        raise SetupError(f"{sdk}: has no usr/lib/swift (Swift interfaces of the SDK)")
    sdk_version = ""
    try:
        settings = json.loads((sdk / "SDKSettings.json").read_text(encoding="utf-8"))
        sdk_version = str(settings.get("Version", ""))
        canonical = str(settings.get("CanonicalName", "iphoneos"))
    except (OSError, ValueError):
        canonical = "iphoneos"  # only the .plist: trust the caller
    if not canonical.startswith("iphoneos"):
        raise SetupError(f"{sdk}: a {canonical} SDK, not an iPhoneOS SDK")
    package = package.resolve()
    if not (package / "Package.swift").is_file():
        raise SetupError(f"{package}: no Package.swift (run `make ios-package` first)")
    swift = swiftc.parent / "swift"
    manifest = dump_package(package, swift if swift.exists() else Path("swift"))
    version = ios_version(manifest, deployment_target)
    triple = f"arm64-apple-ios{version}"
    targets = package_targets(package, manifest)
    rd = make_resource_dir(swiftc, work)
    modules = work / "modules"
    modules.mkdir()
    summary: dict = {"package": str(package), "sdk": str(sdk), "sdk_version": sdk_version, "target": triple,
                     "swift_version": swift_version, "targets": []}
    for t in targets:
        sources = list(t.sources)
        if t.has_resources:
            accessor = work / f"{t.name}-resource_bundle_accessor.swift"
            accessor.write_text(BUNDLE_ACCESSOR, encoding="utf-8")
            sources.append(accessor)
        sil = work / f"{t.name}.sil"
        cmd = [str(swiftc), "-target", triple, "-sdk", str(sdk), "-resource-dir", str(rd),
               "-swift-version", swift_version, "-module-cache-path", str(module_cache),
               "-module-name", t.name, "-wmo", "-Onone", "-emit-sil", "-o", str(sil),
               "-emit-module", "-emit-module-path", str(modules / f"{t.name}.swiftmodule"),
               "-I", str(modules), "-D", "SWIFT_PACKAGE", "-diagnostic-style", "llvm",
               *([] if t.kind == "executable" else ["-parse-as-library"]), *t.flags,
               *map(str, sources)]
        if verbose:
            print("+", " ".join(cmd), file=sys.stderr)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        output = proc.stdout + proc.stderr
        if output.strip():
            print(output, end="" if output.endswith("\n") else "\n", file=sys.stderr)
        diags = parse_diagnostics(output, package)
        errors = sum(d.kind == "error" for d in diags)
        if proc.returncode != 0 and errors == 0:
            errors = 1  # a crash or a failure without a located diagnostic
        sil_text = sil.read_text(encoding="utf-8", errors="replace") if sil.exists() else ""
        summary["targets"].append({
            "name": t.name,
            "files": len(t.sources),
            "errors": errors,
            "warnings": sum(d.kind == "warning" for d in diags),
            "warnings_in_package": sum(d.kind == "warning" and d.ours for d in diags),
            "diagnostics": [d.text for d in diags],
            # functions with a body in the SIL: proves the code (also under #if canImport) compiled
            "sil_functions": len(re.findall(r"^sil [^\n]*\{$", sil_text, flags=re.M)),
            "sil": str(sil),
        })
        if proc.returncode != 0:
            break  # dependents cannot import a module that failed
    summary["skipped"] = [t["name"] for t in manifest.get("targets", []) if t.get("type") == "test"]
    summary["not_checked"] = [t.name for t in targets[len(summary["targets"]):]]
    summary["errors"] = sum(t["errors"] for t in summary["targets"]) + len(summary["not_checked"])
    summary["warnings"] = sum(t["warnings"] for t in summary["targets"])
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ios_typecheck.py",
        description="Type-check every non-test target of a Swift package for iOS against an iOS SDK, "
                    "on Linux, in Swift 6 mode with data-race checking (compiled to SIL, whole module). "
                    "Links and runs nothing.")
    parser.add_argument("--sdk", default=os.environ.get("IOS_SDK"),
                        help="the iPhoneOS SDK directory (default: $IOS_SDK)")
    parser.add_argument("--package", default="build/ios/HRVKit", help="the Swift package (default: %(default)s)")
    parser.add_argument("--deployment-target", help="iOS version to target (default: the package's iOS platform)")
    parser.add_argument("--swift-version", default="6", help="language mode (default: %(default)s)")
    parser.add_argument("--swiftc", help="the swiftc to use (default: swiftc on PATH)")
    parser.add_argument("--module-cache", help="keep compiled SDK modules here between runs (default: a temporary dir)")
    parser.add_argument("--keep", help="write the SIL and modules here instead of a temporary dir")
    parser.add_argument("--json", help="also write the summary as JSON to this file")
    parser.add_argument("--warnings-as-errors", action="store_true", help="fail on any warning")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the compiler commands")
    args = parser.parse_args(argv)
    try:
        if not args.sdk:
            raise SetupError("no iOS SDK: pass --sdk or set IOS_SDK to an iPhoneOS*.sdk directory")
        sdk = Path(args.sdk).expanduser().resolve()
        if not sdk.is_dir():
            raise SetupError(f"{sdk}: no such SDK directory")
        swiftc = find_swiftc(args.swiftc)
        with tempfile.TemporaryDirectory(prefix="ios-typecheck-") as tmp:
            work = Path(args.keep).resolve() if args.keep else Path(tmp)
            if args.keep:
                if work.exists() and any(work.iterdir()):
                    raise SetupError(f"{work}: --keep needs a new or empty directory")
                work.mkdir(parents=True, exist_ok=True)
            cache = Path(args.module_cache).resolve() if args.module_cache else Path(tmp) / "module-cache"
            # clang caches modules with their API notes applied: one cache per notes text
            notes_key = hashlib.sha256(json.dumps(api_notes(), sort_keys=True).encode()).hexdigest()[:12]
            cache = cache / f"notes-{notes_key}"
            cache.mkdir(parents=True, exist_ok=True)
            summary = check(Path(args.package), sdk, swiftc=swiftc, work=work, module_cache=cache,
                            deployment_target=args.deployment_target, swift_version=args.swift_version,
                            verbose=args.verbose)
    except SetupError as e:
        print(f"ios-typecheck: error: {e}", file=sys.stderr)
        return 2
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        print(f"ios-typecheck: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for t in summary["targets"]:
        print(f"{t['name']}: {t['errors']} errors, {t['warnings']} warnings "
              f"({t['files']} files, {t['sil_functions']} SIL functions)")
    for name in summary["not_checked"]:
        print(f"{name}: not checked (a dependency failed)")
    if summary["skipped"]:
        print(f"skipped (XCTest is not in the SDK): {', '.join(summary['skipped'])}")
    print(f"ios-typecheck {summary['target']} (Swift {summary['swift_version']} mode, "
          f"iOS SDK {summary['sdk_version'] or '?'}): "
          f"{summary['errors']} errors, {summary['warnings']} warnings")
    failed = summary["errors"] > 0 or (args.warnings_as_errors and summary["warnings"] > 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

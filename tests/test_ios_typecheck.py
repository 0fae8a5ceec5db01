"""iOS type-check of the rendered package against a real iOS SDK (`scripts/ios_typecheck.py`).

Needs a Swift toolchain and an iPhoneOS SDK directory in ``IOS_SDK`` (skipped otherwise; see the
README's Development section). Every non-test target is compiled to SIL for iOS in Swift 6 mode:
the package must give 0 errors, and a probe file with a data race and a use before
initialisation (diagnosed only in SIL, which `-typecheck` never reaches) must give exactly those
two errors, proving the check is not vacuous. The first run compiles the SDK's modules (minutes);
the module cache is shared within the session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit.package import run_package
from test_package import make_project

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "ios_typecheck.py"
SDK = os.environ.get("IOS_SDK")

pytestmark = pytest.mark.swift
needs_sdk = [
    pytest.mark.skipif(shutil.which("swiftc") is None, reason="swift toolchain not installed"),
    pytest.mark.skipif(not SDK, reason="IOS_SDK is not set: point it at an iPhoneOS*.sdk directory "
                                       "to type-check the package for iOS (README, Development)"),
]


def _needs_sdk(fn):
    for mark in needs_sdk:
        fn = mark(fn)
    return fn

# On an SDK older than iOS 17 the async MLModel.prediction(from:) (iOS 17+, the package's
# deployment target) is missing, so the synchronous overload is chosen and `await` has nothing to do.
OLD_SDK_WARNING = "no 'async' operations occur within 'await' expression"

PROBE = """\
#if canImport(CoreML) && canImport(HealthKit)
final class ProbeBox { var v = 0 }
actor ProbeActor { func take(_ b: ProbeBox) {} }
func probeRace(_ a: ProbeActor) async {
    let b = ProbeBox()
    await a.take(b)
    b.v += 1
}
func probeInit() -> Int {
    let x: Int
    if Bool.random() { x = 1 }
    return x
}
#endif
"""


def _sdk_major() -> int:
    settings = Path(SDK) / "SDKSettings.json"
    try:
        return int(str(json.loads(settings.read_text())["Version"]).split(".")[0])
    except (OSError, KeyError, ValueError):
        return 0


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ios-module-cache")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    toml, build = make_project(tmp_path_factory.mktemp("ios"))
    run_package(toml, build)
    return build / "ios" / "HRVKit"


def _typecheck(pkg: Path, cache: Path, tmp: Path) -> tuple[int, dict, str]:
    summary = tmp / "summary.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--sdk", SDK, "--package", str(pkg),
                           "--module-cache", str(cache), "--keep", str(tmp / "out"), "--json", str(summary)],
                          capture_output=True, text=True, timeout=3600)
    out = proc.stdout + proc.stderr
    assert summary.is_file(), out[-4000:]
    return proc.returncode, json.loads(summary.read_text()), out


@_needs_sdk
def test_every_target_typechecks_for_ios(package, module_cache, tmp_path):
    rc, summary, out = _typecheck(package, module_cache, tmp_path)
    assert summary["errors"] == 0 and rc == 0, out[-6000:]
    assert summary["target"] == "arm64-apple-ios17.0"  # the package's deployment target
    assert summary["swift_version"] == "6"
    assert [t["name"] for t in summary["targets"]] == ["HRVKitCore", "HRVKit"]
    assert sorted(summary["skipped"]) == ["HRVKitCoreTests", "HRVKitTests"]
    # the Apple layer was compiled, not skipped by #if canImport(...): LoadedModel and
    # mlComputeUnits exist only with Core ML, HealthData and HealthDataError only with HealthKit
    sil = Path(summary["targets"][1]["sil"]).read_text(errors="replace")
    for symbol in ("LoadedModel", "mlComputeUnits", "HealthData", "HealthDataError", "HRVPipeline", "ModelStore",
                   "CoreMLStrainClassifier", "CoreMLFatigueForecaster"):
        assert symbol in sil, symbol
    warnings = [d for t in summary["targets"] for d in t["diagnostics"] if ": warning: " in d]
    if _sdk_major() < 17:
        warnings = [w for w in warnings if not (OLD_SDK_WARNING in w and "/Predictors.swift:" in w)]
    assert warnings == []


@_needs_sdk
def test_sil_only_errors_are_reported(package, module_cache, tmp_path):
    probed = tmp_path / "HRVKit"
    shutil.copytree(package, probed, ignore=shutil.ignore_patterns(".build"))
    (probed / "Sources" / "HRVKit" / "Probe.swift").write_text(PROBE)
    rc, summary, out = _typecheck(probed, module_cache, tmp_path)
    assert rc == 1
    errors = [d for d in summary["targets"][-1]["diagnostics"] if ": error: " in d]
    assert len(errors) == 2, out[-4000:]
    assert any("Probe.swift:6:" in e and "risks causing data races" in e for e in errors)
    assert any("Probe.swift:12:" in e and "used before being initialized" in e for e in errors)


def test_without_sdk_it_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "IOS_SDK"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--package", str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "ios-typecheck: error: no iOS SDK: pass --sdk or set IOS_SDK to an iPhoneOS*.sdk directory"]

"""The rendered Swift package builds and tests with the local Swift toolchain (slow: ~1 min each).

- the default package: `swift build` and `swift test` pass with no warnings;
- a package with only one of the models: the same API builds and tests (the missing roles are
  typed errors);
- hostile labels and model names (quotes, backslashes, interpolation, unicode, keywords): `swift build`;
- the Apple layer (Core ML / HealthKit, normally compiled only on Apple platforms) type-checks under
  Swift 6 strict concurrency against minimal stand-in modules of the API surface it uses. The stubs
  are deliberately restrictive (non-Sendable classes), so this catches syntax, typing and
  concurrency mistakes; it cannot prove the real SDK signatures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edgekit.package import run_package
from test_package import HOSTILE_LABELS, make_project

SWIFT = shutil.which("swift")
pytestmark = [pytest.mark.swift, pytest.mark.slow, pytest.mark.skipif(SWIFT is None, reason="swift toolchain not installed")]


def _swift(args: list[str], cwd: Path, timeout: int = 900) -> str:
    env = dict(os.environ)
    proc = subprocess.run([SWIFT, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"swift {' '.join(args)} failed:\n{out[-6000:]}"
    return out


def _warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.search(r"\bwarning:", line)]


def test_default_package_builds_and_tests_without_warnings(tmp_path):
    toml, build = make_project(tmp_path)
    run_package(toml, build)
    pkg = build / "ios" / "HRVKit"
    out = _swift(["build"], pkg)
    assert _warnings(out) == []
    # On Linux the manifest copies the models (SwiftPM's command line cannot process a .mlpackage):
    # each arrives whole in the resource bundle, where ModelStore would compile it.
    bundles = list((pkg / ".build").glob("*/debug/HRVKit_HRVKit.resources"))
    assert len(bundles) == 1
    for name in ("hrv_transformer", "hrv_lstm", "hr_activity"):
        assert (bundles[0] / f"{name}.mlpackage" / "Manifest.json").is_file()
        assert (bundles[0] / f"{name}.mlpackage" / "Data" / "com.apple.CoreML" / "model.mlmodel").is_file()
    assert not (bundles[0] / "Manifest.json").exists()  # not flattened
    out = _swift(["test"], pkg)
    assert _warnings(out) == []
    assert "with 0 failures" in out
    assert re.search(r"Executed [1-9]\d* tests?", out)


@pytest.mark.parametrize("names", [("hrv_transformer", None), (None, "hrv_lstm")], ids=["classifier", "forecaster"])
def test_one_model_package_builds_and_tests(tmp_path, names):
    """With one model bundled the same API builds (warnings as errors), and the other role's calls
    are a typed `modelNotBundled` error (PipelineTests.testRolesNotBundledAreTypedErrors)."""
    toml, build = make_project(tmp_path, names=names)
    run_package(toml, build)
    pkg = build / "ios" / "HRVKit"
    out = _swift(["build", "--build-tests", "-Xswiftc", "-warnings-as-errors"], pkg)
    assert _warnings(out) == []
    out = _swift(["test", "--skip-build", "--disable-swift-testing"], pkg)
    assert "with 0 failures" in out
    assert re.search(r"Test Case '.*testRolesNotBundledAreTypedErrors' passed", out)


def test_hostile_labels_and_names_build(tmp_path):
    toml, build = make_project(tmp_path, labels=HOSTILE_LABELS, names=("class", "1-naïve_model"),
                               descriptions=('quote " and \\ and """ and \\(interp) #"', "new\nline */ \u202e"))
    run_package(toml, build)
    pkg = build / "ios" / "HRVKit"
    out = _swift(["build", "--build-tests"], pkg)
    assert _warnings(out) == []


COREML_STUB = r'''
import Foundation
public enum MLComputeUnits: Int { case cpuOnly, cpuAndGPU, all, cpuAndNeuralEngine }
public enum MLMultiArrayDataType: Int { case double, float64, float32, float16, int32 }
public final class MLModelConfiguration { public init() {}; public var computeUnits: MLComputeUnits = .all }
public protocol MLFeatureProvider { func featureValue(for featureName: String) -> MLFeatureValue? }
public final class MLMultiArray {
    public init(shape: [NSNumber], dataType: MLMultiArrayDataType) throws { count = shape.reduce(1) { $0 * $1.intValue } }
    public let count: Int
    public subscript(index: Int) -> NSNumber { get { NSNumber(value: 0) } set { _ = newValue } }
}
public final class MLFeatureValue {
    public init(multiArray: MLMultiArray) {}
    public var dictionaryValue: [AnyHashable: NSNumber] { [:] }
    public var stringValue: String { "" }
    public var multiArrayValue: MLMultiArray? { nil }
}
public final class MLDictionaryFeatureProvider: MLFeatureProvider {
    public init(dictionary: [String: Any]) throws {}
    public func featureValue(for featureName: String) -> MLFeatureValue? { nil }
}
public final class MLModel {
    public class func load(contentsOf url: URL, configuration: MLModelConfiguration = MLModelConfiguration()) async throws -> MLModel { MLModel() }
    public class func compileModel(at url: URL) async throws -> URL { url }
    public func prediction(from input: any MLFeatureProvider) async throws -> any MLFeatureProvider { input }
}
'''

CORELOCATION_STUB = r'''
import Foundation
public struct CLLocationCoordinate2D { public var latitude: Double = 0; public var longitude: Double = 0 }
open class CLLocation: NSObject {
    public var coordinate: CLLocationCoordinate2D { CLLocationCoordinate2D() }
    public var altitude: Double { 0 }
    public var horizontalAccuracy: Double { -1 }
    public var verticalAccuracy: Double { -1 }
    public var speed: Double { -1 }
    public var timestamp: Date { Date() }
}
'''

HEALTHKIT_STUB = r'''
import Foundation
import CoreLocation
open class HKObjectType: NSObject { public class func workoutType() -> HKWorkoutType { HKWorkoutType() } }
open class HKSampleType: HKObjectType {}
public final class HKWorkoutType: HKSampleType {}
public final class HKSeriesType: HKSampleType {
    public class func heartbeat() -> Self { Self() }
    public class func workoutRoute() -> Self { Self() }
}
public struct HKQuantityTypeIdentifier: Hashable, Sendable {
    public static let heartRateVariabilitySDNN = HKQuantityTypeIdentifier()
    public static let heartRate = HKQuantityTypeIdentifier()
}
public final class HKQuantityType: HKSampleType { public init(_ identifier: HKQuantityTypeIdentifier) {} }
open class HKObject: NSObject { public var uuid: UUID { UUID() } }
open class HKSample: HKObject { public var startDate: Date { Date() }; public var endDate: Date { Date() } }
public final class HKHeartbeatSeriesSample: HKSample {}
public enum HKWorkoutActivityType: UInt, Sendable { case cycling = 13, hiking = 24, running = 37, walking = 52 }
public final class HKWorkout: HKSample { public var workoutActivityType: HKWorkoutActivityType { .running } }
public final class HKWorkoutRoute: HKSample {}
public enum HKMetricPrefix { case milli }
public final class HKUnit {
    public class func secondUnit(with prefix: HKMetricPrefix) -> HKUnit { HKUnit() }
    public class func count() -> HKUnit { HKUnit() }
    public class func minute() -> HKUnit { HKUnit() }
    public func unitDivided(by unit: HKUnit) -> HKUnit { self }
}
public final class HKQuantity { public func doubleValue(for unit: HKUnit) -> Double { 0 } }
public final class HKQuantitySample: HKSample { public var quantity: HKQuantity { HKQuantity() }; public var count: Int { 1 } }
public struct HKQueryOptions: OptionSet { public let rawValue: UInt; public init(rawValue: UInt) { self.rawValue = rawValue } }
open class HKQuery: NSObject {
    public class func predicateForSamples(withStart startDate: Date?, end endDate: Date?, options: HKQueryOptions = []) -> NSPredicate { NSPredicate(value: true) }
    public class func predicateForObjects(from workout: HKWorkout) -> NSPredicate { NSPredicate(value: true) }
    public class func predicateForObject(with uuid: UUID) -> NSPredicate { NSPredicate(value: true) }
}
public final class HKHealthStore {
    public init() {}
    public class func isHealthDataAvailable() -> Bool { false }
    public func requestAuthorization(toShare typesToShare: Set<HKSampleType>, read typesToRead: Set<HKObjectType>) async throws {}
}
public struct HKSamplePredicate<Sample: HKSample> {
    public static func heartbeatSeries(_ predicate: NSPredicate? = nil) -> HKSamplePredicate<HKHeartbeatSeriesSample> { .init() }
    public static func quantitySample(type: HKQuantityType, predicate: NSPredicate? = nil) -> HKSamplePredicate<HKQuantitySample> { .init() }
    public static func workoutRoute(_ predicate: NSPredicate? = nil) -> HKSamplePredicate<HKWorkoutRoute> { .init() }
}
public struct HKWorkoutRouteQueryDescriptor {
    public struct Results: AsyncSequence {
        public typealias Element = CLLocation
        public struct AsyncIterator: AsyncIteratorProtocol {
            public mutating func next() async throws -> CLLocation? { nil }
        }
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
    }
    public init(_ workoutRoute: HKWorkoutRoute) {}
    public func results(for healthStore: HKHealthStore) -> Results { Results() }
}
public struct HKQuantitySeriesSampleQueryDescriptor {
    public struct Options: OptionSet { public let rawValue: Int; public init(rawValue: Int) { self.rawValue = rawValue } }
    public struct Result { public let quantity: HKQuantity; public let dateInterval: DateInterval; public let sample: HKQuantitySample? }
    public struct Results: AsyncSequence {
        public typealias Element = Result
        public struct AsyncIterator: AsyncIteratorProtocol {
            public mutating func next() async throws -> Result? { nil }
        }
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
    }
    public init(predicate: HKSamplePredicate<HKQuantitySample>, options: Options = []) {}
    public func results(for healthStore: HKHealthStore) -> Results { Results() }
}
public struct HKSampleQueryDescriptor<Sample: HKSample> {
    public init(predicates: [HKSamplePredicate<Sample>], sortDescriptors: [SortDescriptor<Sample>], limit: Int? = nil) {}
    public func result(for healthStore: HKHealthStore) async throws -> [Sample] { [] }
}
public struct HKHeartbeatSeriesQueryDescriptor {
    public struct Heartbeat: Hashable { public let timeIntervalSinceStart: TimeInterval; public let precededByGap: Bool }
    public struct Results: AsyncSequence {
        public typealias Element = Heartbeat
        public struct AsyncIterator: AsyncIteratorProtocol {
            public mutating func next() async throws -> Heartbeat? { nil }
        }
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
    }
    public init(_ sample: HKHeartbeatSeriesSample) {}
    public func results(for healthStore: HKHealthStore) -> Results { Results() }
}
public struct HKError: Error {
    public enum Code: Int, Sendable { case errorHealthDataUnavailable, errorHealthDataRestricted, errorAuthorizationDenied, errorAuthorizationNotDetermined, errorNoData }
    public let code: Code
}
'''


def test_apple_layer_typechecks_against_stubs(tmp_path):
    toml, build = make_project(tmp_path)
    run_package(toml, build)
    pkg = tmp_path / "stubbed"
    shutil.copytree(build / "ios" / "HRVKit", pkg)
    for name, text in (("CoreML", COREML_STUB), ("CoreLocation", CORELOCATION_STUB), ("HealthKit", HEALTHKIT_STUB)):
        (pkg / "Sources" / name).mkdir(parents=True)
        (pkg / "Sources" / name / f"{name}.swift").write_text(text)
    manifest = (pkg / "Package.swift").read_text()
    manifest = manifest.replace('dependencies: ["HRVKitCore"],\n            resources',
                                'dependencies: ["HRVKitCore", "CoreML", "CoreLocation", "HealthKit"],\n            resources')
    manifest = manifest.replace("    targets: [\n", '    targets: [\n        .target(name: "CoreML"),\n'
                                '        .target(name: "CoreLocation"),\n'
                                '        .target(name: "HealthKit", dependencies: ["CoreLocation"]),\n', 1)
    assert '"CoreML", "CoreLocation", "HealthKit"' in manifest
    (pkg / "Package.swift").write_text(manifest)
    # proves the #if canImport(CoreML) && canImport(HealthKit) code is really compiled here
    (pkg / "Sources" / "HRVKit" / "Probe.swift").write_text(
        '#if canImport(CoreML) && canImport(HealthKit) && canImport(CoreLocation)\n#warning("apple layer compiled")\n#endif\n')
    out = _swift(["build", "--build-tests"], pkg)
    warnings = _warnings(out)
    assert any("apple layer compiled" in w for w in warnings)
    apple_warnings = [w for w in warnings if "apple layer compiled" not in w
                      and "/Sources/CoreML/" not in w and "/Sources/HealthKit/" not in w
                      and "/Sources/CoreLocation/" not in w]
    assert apple_warnings == []

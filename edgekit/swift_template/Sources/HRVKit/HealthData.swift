#if canImport(HealthKit)
import Foundation
import HealthKit

/// Failures of reading HealthKit. Everything after the beats are read (data quality, models) is
/// ``HRVKitError``.
public enum HealthDataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The user has not granted access to the health data (or it was denied).
    case notAuthorized
    /// Health data is not available on this device.
    case healthDataUnavailable
    /// A health-data query failed for another reason.
    case queryFailed(String)

    /// A one-line English description, for logs.
    public var description: String {
        switch self {
        case .notAuthorized:
            return "Access to heart-beat data was not granted."
        case .healthDataUnavailable:
            return "Health data is not available on this device."
        case let .queryFailed(reason):
            return "The health-data query failed: \(reason)"
        }
    }
}

extension HealthDataError: LocalizedError {
    /// Same text as ``description``.
    public var errorDescription: String? { description }
}

/// Reading heart beats from HealthKit.
public enum HealthData: Sendable {
    /// The types this package reads: heartbeat series (the models use nothing else).
    public static var readTypes: Set<HKObjectType> {
        [HKSeriesType.heartbeat()]
    }

    /// Asks the user for read access to ``readTypes``.
    ///
    /// HealthKit never reveals whether read access was granted: a denied type simply returns no
    /// data, which surfaces later as ``HRVKitError/notEnoughBeats(needed:found:)``.
    ///
    /// - Throws: ``HealthDataError/healthDataUnavailable``, ``HealthDataError/notAuthorized``.
    public static func requestAuthorization(store: HKHealthStore) async throws {
        guard HKHealthStore.isHealthDataAvailable() else { throw HealthDataError.healthDataUnavailable }
        do {
            try await store.requestAuthorization(toShare: [], read: readTypes)
        } catch {
            throw HealthDataError.notAuthorized
        }
    }

    /// Every beat of the heartbeat series samples that start in `start ..< end`, in time order.
    ///
    /// Beat times are seconds since 1970. The first beat of every series sample, and every beat
    /// HealthKit marks with `precededByGap`, starts a new segment, so no RR interval spans a gap.
    ///
    /// - Throws: ``HealthDataError``.
    public static func beats(store: HKHealthStore, from start: Date, to end: Date = Date()) async throws -> [Beat] {
        guard HKHealthStore.isHealthDataAvailable() else { throw HealthDataError.healthDataUnavailable }
        let window = HKQuery.predicateForSamples(withStart: start, end: end, options: [])
        let query = HKSampleQueryDescriptor(
            predicates: [.heartbeatSeries(window)],
            sortDescriptors: [SortDescriptor(\.startDate, order: .forward)])
        let samples: [HKHeartbeatSeriesSample]
        do {
            samples = try await query.result(for: store)
        } catch {
            throw map(error)
        }
        var beats: [Beat] = []
        for sample in samples {
            let origin = sample.startDate.timeIntervalSince1970
            var firstOfSample = true
            do {
                for try await heartbeat in HKHeartbeatSeriesQueryDescriptor(sample).results(for: store) {
                    beats.append(Beat(time: origin + heartbeat.timeIntervalSinceStart,
                                      precededByGap: heartbeat.precededByGap || firstOfSample))
                    firstOfSample = false
                }
            } catch {
                throw map(error)
            }
        }
        return beats
    }

    /// Apple's own HRV (SDNN, ms) samples that start in `start ..< end`, oldest first.
    ///
    /// No model uses them, so ``requestAuthorization(store:)`` does not ask for them: an app that
    /// calls this must request read access to `HKQuantityType(.heartRateVariabilitySDNN)` itself.
    ///
    /// - Throws: ``HealthDataError``.
    public static func sdnnSamples(store: HKHealthStore, from start: Date, to end: Date = Date()) async throws -> [(date: Date, sdnnMs: Double)] {
        guard HKHealthStore.isHealthDataAvailable() else { throw HealthDataError.healthDataUnavailable }
        let window = HKQuery.predicateForSamples(withStart: start, end: end, options: [])
        let query = HKSampleQueryDescriptor(
            predicates: [.quantitySample(type: HKQuantityType(.heartRateVariabilitySDNN), predicate: window)],
            sortDescriptors: [SortDescriptor(\.startDate, order: .forward)])
        do {
            let unit = HKUnit.secondUnit(with: .milli)
            return try await query.result(for: store).map { ($0.startDate, $0.quantity.doubleValue(for: unit)) }
        } catch {
            throw map(error)
        }
    }

    static func map(_ error: any Error) -> HealthDataError {
        if let known = error as? HealthDataError { return known }
        if let hk = error as? HKError {
            switch hk.code {
            case .errorAuthorizationDenied, .errorAuthorizationNotDetermined:
                return .notAuthorized
            case .errorHealthDataUnavailable, .errorHealthDataRestricted:
                return .healthDataUnavailable
            default:
                break
            }
        }
        return .queryFailed(error.localizedDescription)
    }
}

extension HRVPipeline {
    /// Asks for read access to heartbeat series; see ``HealthData/requestAuthorization(store:)``.
    ///
    /// - Throws: ``HealthDataError``.
    public func requestAuthorization(store: HKHealthStore) async throws {
        try await HealthData.requestAuthorization(store: store)
    }

    /// Reads the heartbeat series recorded since `since` and classifies the latest clean window
    /// (refused as ``HRVKitError/staleData(age:limit:)`` when its last beat is older than `maxDataAge`).
    ///
    /// ```swift
    /// let assessment = try await HRVPipeline.shared.assessStrain(store: store, since: .now.addingTimeInterval(-3600))
    /// print(assessment.label, assessment.confidence)
    /// ```
    ///
    /// - Parameters:
    ///   - store: the app's health store.
    ///   - since: start of the period to read (default: the last 24 hours).
    ///   - maxDataAge: oldest acceptable last beat, in seconds (default ``Freshness/strainMaxAge``, 6 h).
    /// - Throws: ``HRVKitError`` (``HRVKitError/modelNotBundled(_:)`` before anything is read) or
    ///   ``HealthDataError``; never crashes on missing or bad data.
    public func assessStrain(store: HKHealthStore, since: Date = Date(timeIntervalSinceNow: -24 * 3600),
                             maxDataAge: TimeInterval = Freshness.strainMaxAge) async throws -> StrainAssessment {
        let classifier = try strainClassifier()
        let beats = try await HealthData.beats(store: store, from: since)
        return try await assessStrain(beats: beats, with: classifier, maxDataAge: maxDataAge, now: Date())
    }

    /// Reads `days` days of heartbeat series and forecasts the next 24 h fatigue score (refused as
    /// ``HRVKitError/staleData(age:limit:)`` when the last usable hour ended more than `maxDataAge` ago).
    ///
    /// ```swift
    /// let forecast = try await HRVPipeline.shared.forecastFatigue(store: store, days: 2)
    /// print(forecast.score, forecast.zone)
    /// ```
    ///
    /// - Parameters:
    ///   - store: the app's health store.
    ///   - days: how far back to read (at least 1; the model needs ``Preprocessing/inputLength``
    ///     consecutive hours with enough beats).
    ///   - maxDataAge: oldest acceptable end of the last hour, in seconds (default
    ///     ``Freshness/forecastMaxAge``, 2 h).
    /// - Throws: ``HRVKitError`` (``HRVKitError/modelNotBundled(_:)`` before anything is read) or
    ///   ``HealthDataError``; never crashes on missing or bad data.
    public func forecastFatigue(store: HKHealthStore, days: Int = 2,
                                maxDataAge: TimeInterval = Freshness.forecastMaxAge) async throws -> FatigueForecast {
        let forecaster = try fatigueForecaster()
        let span = Double(max(days, 1)) * 24 * 3600
        let beats = try await HealthData.beats(store: store, from: Date(timeIntervalSinceNow: -span))
        return try await forecastFatigue(beats: beats, with: forecaster, maxDataAge: maxDataAge, now: Date())
    }
}
#endif

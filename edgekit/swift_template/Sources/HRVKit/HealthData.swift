#if canImport(HealthKit)
import Foundation
import HealthKit

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
    /// - Throws: ``HRVKitError/healthDataUnavailable``, ``HRVKitError/notAuthorized``.
    public static func requestAuthorization(store: HKHealthStore) async throws {
        guard HKHealthStore.isHealthDataAvailable() else { throw HRVKitError.healthDataUnavailable }
        do {
            try await store.requestAuthorization(toShare: [], read: readTypes)
        } catch {
            throw HRVKitError.notAuthorized
        }
    }

    /// Every beat of the heartbeat series samples that start in `start ..< end`, in time order.
    ///
    /// Beat times are seconds since 1970. The first beat of every series sample, and every beat
    /// HealthKit marks with `precededByGap`, starts a new segment, so no RR interval spans a gap.
    public static func beats(store: HKHealthStore, from start: Date, to end: Date = Date()) async throws -> [Beat] {
        guard HKHealthStore.isHealthDataAvailable() else { throw HRVKitError.healthDataUnavailable }
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
    public static func sdnnSamples(store: HKHealthStore, from start: Date, to end: Date = Date()) async throws -> [(date: Date, sdnnMs: Double)] {
        guard HKHealthStore.isHealthDataAvailable() else { throw HRVKitError.healthDataUnavailable }
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

    static func map(_ error: any Error) -> HRVKitError {
        if let known = error as? HRVKitError { return known }
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
#endif

#if canImport(HealthKit)
import Foundation
import HealthKit
#if canImport(CoreLocation)
import CoreLocation
#endif

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
            return "Access to the health data was not granted."
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

    /// The heartbeat series recorded in `start ..< end`, one reading per `HKHeartbeatSeriesSample`
    /// (an Apple Watch background reading of about a minute, a Breathe/Reflect session, or a
    /// recording another app wrote), oldest first; samples with no beats are left out.
    ///
    /// A sample is included when its time overlaps `start ..< end` (`HKQueryOptions` none). Beat
    /// times are absolute, seconds since 1970 (the sample's start plus each beat's
    /// `timeIntervalSinceStart`). Each reading's first beat, and every beat HealthKit marks with
    /// `precededByGap` (beats may be missing before it), is ``Beat/precededByGap``, so no RR
    /// interval spans a gap. Only heartbeat series are read (``readTypes``).
    ///
    /// - Throws: ``HealthDataError``.
    public static func readings(store: HKHealthStore, from start: Date, to end: Date = Date()) async throws -> [[Beat]] {
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
        var readings: [[Beat]] = []
        for sample in samples {
            let origin = sample.startDate.timeIntervalSince1970
            var reading: [Beat] = []
            do {
                for try await heartbeat in HKHeartbeatSeriesQueryDescriptor(sample).results(for: store) {
                    reading.append(Beat(time: origin + heartbeat.timeIntervalSinceStart,
                                        precededByGap: heartbeat.precededByGap || reading.isEmpty))
                }
            } catch {
                throw map(error)
            }
            if !reading.isEmpty { readings.append(reading) }
        }
        return readings
    }

    /// Every beat of the heartbeat series recorded in `start ..< end`, in time order: the
    /// ``readings(store:from:to:)`` joined, each reading's first beat marked
    /// ``Beat/precededByGap`` (``WatchInputs/joinedBeats(_:)``).
    ///
    /// - Throws: ``HealthDataError``.
    public static func beats(store: HKHealthStore, from start: Date, to end: Date = Date()) async throws -> [Beat] {
        WatchInputs.joinedBeats(try await readings(store: store, from: start, to: end))
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

/// Reading running workouts (route and heart rate) from HealthKit for the heart-rate-from-activity model.
extension HealthData {
    /// The types the workout API reads: workouts, their routes (`HKSeriesType.workoutRoute()`)
    /// and heart rate (`HKQuantityType(.heartRate)`).
    public static var workoutReadTypes: Set<HKObjectType> {
        [HKObjectType.workoutType(), HKSeriesType.workoutRoute(), HKQuantityType(.heartRate)]
    }

    /// Asks the user for read access to ``workoutReadTypes``.
    ///
    /// As with heartbeats, a denied type simply returns no data: no route is
    /// ``HRVKitError/noActivityData``, no heart rate leaves nothing to compare.
    ///
    /// - Throws: ``HealthDataError/healthDataUnavailable``, ``HealthDataError/notAuthorized``.
    public static func requestWorkoutAuthorization(store: HKHealthStore) async throws {
        guard HKHealthStore.isHealthDataAvailable() else { throw HealthDataError.healthDataUnavailable }
        do {
            try await store.requestAuthorization(toShare: [], read: workoutReadTypes)
        } catch {
            throw HealthDataError.notAuthorized
        }
    }

    /// The route and heart rate of `workout`: every location of its routes and every heart-rate
    /// value in its interval, ready for ``WorkoutGrid/init(samples:settings:)``.
    ///
    /// - Throws: ``HealthDataError``.
    public static func workoutSamples(store: HKHealthStore, workout: HKWorkout) async throws -> WorkoutSamples {
        let start = workout.startDate, end = workout.endDate
        let route = try await routePoints(store: store, workout: workout)
        let heartRate = try await heartRateSamples(store: store, from: start, to: end)
        return WorkoutSamples(start: start.timeIntervalSince1970, end: end.timeIntervalSince1970, route: route,
                              heartRate: heartRate)
    }

    /// Every location of the routes (`HKWorkoutRoute`) attached to `workout`, in the order
    /// HealthKit returns them (resampling sorts by time).
    ///
    /// A location with a negative `horizontalAccuracy` has no position (NaN latitude and
    /// longitude), one with a negative `verticalAccuracy` no altitude, one with a negative `speed`
    /// no device speed (Core Location's "invalid").
    ///
    /// - Throws: ``HealthDataError``.
    public static func routePoints(store: HKHealthStore, workout: HKWorkout) async throws -> [RoutePoint] {
        guard HKHealthStore.isHealthDataAvailable() else { throw HealthDataError.healthDataUnavailable }
        let query = HKSampleQueryDescriptor(
            predicates: [.workoutRoute(HKQuery.predicateForObjects(from: workout))],
            sortDescriptors: [SortDescriptor(\.startDate, order: .forward)])
        var points: [RoutePoint] = []
        do {
            for route in try await query.result(for: store) {
                for try await location in HKWorkoutRouteQueryDescriptor(route).results(for: store) {
                    let fix = location.horizontalAccuracy >= 0
                    points.append(RoutePoint(
                        time: location.timestamp.timeIntervalSince1970,
                        latitude: fix ? location.coordinate.latitude : .nan,
                        longitude: fix ? location.coordinate.longitude : .nan,
                        altitude: location.verticalAccuracy >= 0 ? location.altitude : .nan,
                        speed: location.speed >= 0 ? location.speed : .nan))
                }
            }
        } catch {
            throw map(error)
        }
        return points
    }

    /// Every heart-rate value (bpm) whose time lies in `start ... end`, the time being the midpoint
    /// of the value's interval. Samples that hold a series (Apple Watch records heart rate during
    /// a workout as series samples, `count > 1`) are read value by value with
    /// `HKQuantitySeriesSampleQueryDescriptor`.
    ///
    /// - Throws: ``HealthDataError``.
    public static func heartRateSamples(store: HKHealthStore, from start: Date, to end: Date) async throws -> [HeartRateSample] {
        guard HKHealthStore.isHealthDataAvailable() else { throw HealthDataError.healthDataUnavailable }
        let type = HKQuantityType(.heartRate)
        let unit = HKUnit.count().unitDivided(by: HKUnit.minute())
        let window = HKQuery.predicateForSamples(withStart: start, end: end, options: [])
        let query = HKSampleQueryDescriptor(
            predicates: [.quantitySample(type: type, predicate: window)],
            sortDescriptors: [SortDescriptor(\.startDate, order: .forward)])
        let first = start.timeIntervalSince1970, last = end.timeIntervalSince1970
        var values: [HeartRateSample] = []
        func add(_ quantity: HKQuantity, from a: Date, to b: Date) {
            let time = a.timeIntervalSince1970 + b.timeIntervalSince(a) / 2
            if time >= first && time <= last {
                values.append(HeartRateSample(time: time, bpm: quantity.doubleValue(for: unit)))
            }
        }
        do {
            for sample in try await query.result(for: store) {
                guard sample.count > 1 else {
                    add(sample.quantity, from: sample.startDate, to: sample.endDate)
                    continue
                }
                let series = HKQuantitySeriesSampleQueryDescriptor(
                    predicate: .quantitySample(type: type, predicate: HKQuery.predicateForObject(with: sample.uuid)))
                for try await value in series.results(for: store) {
                    add(value.quantity, from: value.dateInterval.start, to: value.dateInterval.end)
                }
            }
        } catch {
            throw map(error)
        }
        return values
    }
}

extension HRVPipeline {
    /// Asks for read access to heartbeat series; see ``HealthData/requestAuthorization(store:)``.
    ///
    /// - Throws: ``HealthDataError``.
    public func requestAuthorization(store: HKHealthStore) async throws {
        try await HealthData.requestAuthorization(store: store)
    }

    /// Reads the heartbeat series of the last `maxDataAge` seconds (or since `since`) and assesses
    /// strain from the newest usable one; see ``assessStrain(beats:maxDataAge:now:)``.
    ///
    /// With a reading classifier (``InputEncoding/reading(minBeats:)``) one Apple Watch background
    /// reading is enough; it must end at most `maxDataAge` ago (refused as
    /// ``HRVKitError/staleData(age:limit:)`` otherwise, and as
    /// ``HRVKitError/notEnoughBeats(needed:found:)`` when no reading was recorded in that time).
    ///
    /// ```swift
    /// let assessment = try await HRVPipeline.shared.assessStrain(store: store)
    /// print(assessment.label, assessment.confidence, assessment.dataAge ?? 0)
    /// ```
    ///
    /// - Parameters:
    ///   - store: the app's health store.
    ///   - since: start of the period to read; `nil` (the default) reads the last `maxDataAge`
    ///     seconds (24 hours when that is not finite).
    ///   - maxDataAge: oldest acceptable last beat, in seconds (default ``Freshness/strainMaxAge``, 6 h).
    /// - Throws: ``HRVKitError`` (``HRVKitError/modelNotBundled(_:)`` before anything is read) or
    ///   ``HealthDataError``; never crashes on missing or bad data.
    public func assessStrain(store: HKHealthStore, since: Date? = nil,
                             maxDataAge: TimeInterval = Freshness.strainMaxAge) async throws -> StrainAssessment {
        let classifier = try strainClassifier()
        let now = Date()
        let start = since ?? now.addingTimeInterval(-(maxDataAge.isFinite && maxDataAge >= 0 ? maxDataAge : 24 * 3600))
        let readings = try await HealthData.readings(store: store, from: start, to: now)
        return try await assessStrain(beats: WatchInputs.joinedBeats(readings), with: classifier,
                                      maxDataAge: maxDataAge, now: now)
    }

    /// Reads the heartbeat series the forecaster needs and forecasts the next 24 h fatigue score;
    /// see ``forecastFatigue(readings:maxDataAge:now:timeZone:)``.
    ///
    /// With hourly slots (``InputEncoding/hourlySlots(minPresentHours:)``) the readings of the
    /// last ``Preprocessing/inputLength`` clock hours (and of the hour now running) are read, and a
    /// few Apple Watch background readings in that time are enough; with an hourly run, `days` days.
    ///
    /// ```swift
    /// let forecast = try await HRVPipeline.shared.forecastFatigue(store: store)
    /// print(forecast.score, forecast.zone)
    /// ```
    ///
    /// - Parameters:
    ///   - store: the app's health store.
    ///   - days: how far back to read for an hourly run (at least 1); not used by hourly slots.
    ///   - maxDataAge: oldest acceptable data, in seconds (`nil`: ``Freshness/defaultMaxAge(for:)``
    ///     of the forecaster's encoding).
    ///   - timeZone: the wearer's time zone, which places the clock hours of hourly slots.
    /// - Throws: ``HRVKitError`` (``HRVKitError/modelNotBundled(_:)`` before anything is read) or
    ///   ``HealthDataError``; never crashes on missing or bad data.
    public func forecastFatigue(store: HKHealthStore, days: Int = 2, maxDataAge: TimeInterval? = nil,
                                timeZone: TimeZone = .current) async throws -> FatigueForecast {
        let forecaster = try fatigueForecaster()
        let now = Date()
        let span: TimeInterval
        if case .hourlySlots = forecaster.preprocessing.encoding {
            span = Double(max(forecaster.preprocessing.inputLength, 0) + 1) * 3600
        } else {
            span = Double(max(days, 1)) * 24 * 3600
        }
        let readings = try await HealthData.readings(store: store, from: now.addingTimeInterval(-span), to: now)
        return try await forecastFatigue(readings: readings, with: forecaster, maxDataAge: maxDataAge, now: now,
                                         timeZone: timeZone)
    }

    /// Reads the heartbeat series of the last `days` days and computes the wearer's own baseline;
    /// see ``baseline(readings:window:timeZone:now:)``. Needs only read access to heartbeat series
    /// (``requestAuthorization(store:)``), no model.
    ///
    /// ```swift
    /// let baseline = try await HRVPipeline.shared.baseline(store: store)
    /// print(baseline.latest?.trend ?? "building your baseline")
    /// ```
    ///
    /// - Parameters:
    ///   - store: the app's health store.
    ///   - days: how many days back to read (default 60: the normal range's window).
    ///   - window: the readings that make a day's value (default night, 00:00–06:00 local).
    ///   - timeZone: the wearer's time zone, which places days and hours.
    /// - Throws: ``HealthDataError``; never crashes on missing or bad data (no readings give no days).
    public func baseline(store: HKHealthStore, days: Int = BaselineConstants.normalRangeDays,
                         window: BaselineWindow = .night, timeZone: TimeZone = .current) async throws -> BaselineResult {
        let now = Date()
        let start = now.addingTimeInterval(-Double(max(days, 1)) * 86400)
        let readings = try await HealthData.readings(store: store, from: start, to: now)
        return baseline(readings: readings, window: window, timeZone: timeZone, now: now)
    }

    /// Asks for read access to workouts, their routes and heart rate; see
    /// ``HealthData/requestWorkoutAuthorization(store:)``.
    ///
    /// - Throws: ``HealthDataError``.
    public func requestWorkoutAuthorization(store: HKHealthStore) async throws {
        try await HealthData.requestWorkoutAuthorization(store: store)
    }

    /// Reads `workout`'s route and heart rate and compares the heart rate its pace and grade
    /// predict with the recorded one; see ``expectedHeartRate(samples:contextMinutes:)``.
    ///
    /// ```swift
    /// let comparison = try await HRVPipeline.shared.expectedHeartRate(workout: run, store: store)
    /// print(comparison.summary)   // "HR 6 BPM above what this pace predicts for you"
    /// ```
    ///
    /// - Parameters:
    ///   - workout: a running workout with a route (recorded outdoors with location access).
    ///   - store: the app's health store.
    ///   - contextMinutes: minutes of recorded heart rate given as context (default: the model's).
    /// - Throws: ``HRVKitError`` (``HRVKitError/modelNotBundled(_:)`` before anything is read,
    ///   ``HRVKitError/invalidInput(_:)`` for a workout that is not a run, walk or hike — the model
    ///   knows running heart rate —, ``HRVKitError/noActivityData`` without a usable route) or
    ///   ``HealthDataError``.
    public func expectedHeartRate(workout: HKWorkout, store: HKHealthStore,
                                  contextMinutes: Double? = nil) async throws -> HeartRateComparison {
        let predictor = try heartRatePredictor()
        switch workout.workoutActivityType {
        case .running, .walking, .hiking:
            break
        default:
            throw HRVKitError.invalidInput("the workout is not a run (HKWorkoutActivityType "
                                           + "\(workout.workoutActivityType.rawValue)): the model predicts running heart rate")
        }
        let samples = try await HealthData.workoutSamples(store: store, workout: workout)
        return try await expectedHeartRate(samples: samples, contextMinutes: contextMinutes, with: predictor)
    }
}
#endif

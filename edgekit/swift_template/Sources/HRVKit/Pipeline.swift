import Foundation

/// The package's entry point: beats or workouts in, a typed result out, for every model role.
///
/// Every entry point exists whatever models this package bundles: asking for a role it does not
/// bundle (and for which no implementation was supplied) throws
/// ``HRVKitError/modelNotBundled(_:)``. The model stages are protocols (``StrainClassifying``,
/// ``FatigueForecasting``, ``HeartRatePredicting``) whose defaults run the bundled Core ML models
/// through ``modelStore``.
///
/// How beats become a model's input is the model's ``Preprocessing/encoding`` (for the bundled
/// models ``BundledModel/inputEncoding``), never its name:
///
/// | call | ``InputEncoding`` | input |
/// |---|---|---|
/// | ``assessStrain(beats:maxDataAge:now:)`` | ``InputEncoding/reading(minBeats:)`` | the newest reading with enough clean beats |
/// | | ``InputEncoding/beatWindow`` | the newest gap-free window of clean beats |
/// | ``forecastFatigue(readings:maxDataAge:now:timeZone:)`` | ``InputEncoding/hourlySlots(minPresentHours:)`` | RMSSD of the last local clock hours, absent hours 0 |
/// | | ``InputEncoding/hourlyRun`` | the newest run of consecutive hourly RMSSD values |
///
/// ```swift
/// let pipeline = HRVPipeline()              // or HRVPipeline.shared
/// try await pipeline.load()                 // optional: load (and compile) the models now
/// let assessment = try await pipeline.assessStrain(beats: beats)
/// let forecast = try await pipeline.forecastFatigue(readings: readings)   // one [Beat] per reading
/// ```
public final class HRVPipeline: Sendable {
    /// A pipeline with the default configuration, shared by the process (its models load once).
    public static let shared = HRVPipeline()

    /// How the models are loaded and run.
    public let configuration: HRVKitConfiguration
    /// The store that loads the Core ML models of ``configuration``.
    public let modelStore: ModelStore
    private let suppliedClassifier: (any StrainClassifying)?
    private let suppliedForecaster: (any FatigueForecasting)?
    private let suppliedHeartRatePredictor: (any HeartRatePredicting)?

    /// A pipeline for `configuration`.
    ///
    /// - Parameters:
    ///   - configuration: compute units, model location and models (default: the bundled ones).
    ///   - strainClassifier: the classifier to use instead of the bundled Core ML model.
    ///   - fatigueForecaster: the forecaster to use instead of the bundled Core ML model.
    ///   - heartRatePredictor: the heart-rate predictor to use instead of the bundled Core ML model.
    public init(configuration: HRVKitConfiguration = HRVKitConfiguration(),
                strainClassifier: (any StrainClassifying)? = nil,
                fatigueForecaster: (any FatigueForecasting)? = nil,
                heartRatePredictor: (any HeartRatePredicting)? = nil) {
        self.configuration = configuration
        self.modelStore = ModelStore(configuration: configuration)
        self.suppliedClassifier = strainClassifier
        self.suppliedForecaster = fatigueForecaster
        self.suppliedHeartRatePredictor = heartRatePredictor
    }

    /// The strain classifier used: the one supplied, else ``CoreMLStrainClassifier``.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when none was supplied and the configuration
    ///   has no strain classifier.
    public func strainClassifier() throws -> any StrainClassifying {
        if let suppliedClassifier { return suppliedClassifier }
        return try CoreMLStrainClassifier(store: modelStore)
    }

    /// The fatigue forecaster used: the one supplied, else ``CoreMLFatigueForecaster``.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when none was supplied and the configuration
    ///   has no fatigue forecaster.
    public func fatigueForecaster() throws -> any FatigueForecasting {
        if let suppliedForecaster { return suppliedForecaster }
        return try CoreMLFatigueForecaster(store: modelStore)
    }

    /// The heart-rate predictor used: the one supplied, else ``CoreMLHeartRatePredictor``.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when none was supplied and the configuration
    ///   has no heart-rate predictor.
    public func heartRatePredictor() throws -> any HeartRatePredicting {
        if let suppliedHeartRatePredictor { return suppliedHeartRatePredictor }
        return try CoreMLHeartRatePredictor(store: modelStore)
    }

    /// The roles this pipeline can serve: supplied, or with a model in the configuration.
    public var availableRoles: [ModelRole] {
        ModelRole.allCases.filter { role in
            isSupplied(role) || configuration.models.contains { $0.role == role }
        }
    }

    private func isSupplied(_ role: ModelRole) -> Bool {
        switch role {
        case .strainClassifier: return suppliedClassifier != nil
        case .fatigueForecaster: return suppliedForecaster != nil
        case .heartRatePredictor: return suppliedHeartRatePredictor != nil
        }
    }

    /// Loads the Core ML models this pipeline uses (those of the configuration whose role was not
    /// supplied), so the first prediction does not wait for loading or compilation.
    ///
    /// - Throws: ``HRVKitError/modelLoadFailed(model:reason:)``.
    public func load() async throws {
        for model in configuration.models where !isSupplied(model.role) {
            try await modelStore.load(model.role)
        }
    }

    /// Releases the loaded Core ML models; the next prediction loads them again.
    public func unload() async {
        await modelStore.unload()
    }

    /// Assesses strain from the newest usable data in `beats`.
    ///
    /// The beats are turned into RR intervals (honouring gaps) and cleaned exactly as the training
    /// data was (the classifier's ``StrainClassifying/preprocessing``). Then, by its
    /// ``Preprocessing/encoding``:
    /// - ``InputEncoding/reading(minBeats:)``: the newest reading (beats no more than
    ///   ``CleaningConstants/readingJoinSeconds`` apart) with at least `minBeats` clean beats within
    ///   the artifact limit is classified: its newest ``Preprocessing/inputLength`` intervals, then
    ///   0 (absent). One Apple Watch background reading (about a minute) is enough.
    /// - ``InputEncoding/beatWindow``: the latest gap-free window of ``Preprocessing/inputLength``
    ///   intervals within the artifact limit (about two minutes of beats without a gap).
    ///
    /// The input is used if its last beat is at most `maxDataAge` seconds before `now`.
    ///
    /// - Parameters:
    ///   - beats: beat times in seconds since 1970 (as `HealthData.beats(store:from:to:)` gives);
    ///     for a recording with relative times pass `maxDataAge: .infinity`.
    ///   - maxDataAge: oldest acceptable last beat, in seconds (default ``Freshness/strainMaxAge``, 6 h).
    ///   - now: the time the age is measured at.
    /// - Returns: the assessment, with ``StrainAssessment/dataAge`` set and the features of the
    ///   beats the model saw.
    /// - Throws: ``HRVKitError/modelNotBundled(_:)``, ``HRVKitError/notEnoughBeats(needed:found:)``,
    ///   ``HRVKitError/tooManyArtifacts(percent:limit:)``, ``HRVKitError/staleData(age:limit:)``,
    ///   ``HRVKitError/modelLoadFailed(model:reason:)``, ``HRVKitError/predictionFailed(model:reason:)``,
    ///   ``HRVKitError/invalidInput(_:)`` for a classifier whose encoding is not a strain input.
    public func assessStrain(beats: [Beat], maxDataAge: TimeInterval = Freshness.strainMaxAge,
                             now: Date = Date()) async throws -> StrainAssessment {
        try await assessStrain(beats: beats, with: strainClassifier(), maxDataAge: maxDataAge, now: now)
    }

    /// Assesses strain from the newest usable one of `readings` (one array of beats per reading,
    /// for example one per `HKHeartbeatSeriesSample`, as `HealthData.readings(store:from:to:)`
    /// gives); no RR interval spans two readings. See ``assessStrain(beats:maxDataAge:now:)``.
    public func assessStrain(readings: [[Beat]], maxDataAge: TimeInterval = Freshness.strainMaxAge,
                             now: Date = Date()) async throws -> StrainAssessment {
        try await assessStrain(beats: WatchInputs.joinedBeats(readings), with: strainClassifier(),
                               maxDataAge: maxDataAge, now: now)
    }

    /// Forecasts the next 24 h fatigue score from the heart-rate readings of the last day.
    ///
    /// Each reading's beats are cleaned as the training data was (the forecaster's
    /// ``FatigueForecasting/preprocessing``). Then, by its ``Preprocessing/encoding``:
    /// - ``InputEncoding/hourlySlots(minPresentHours:)``: the RMSSD of each of the last
    ///   ``Preprocessing/inputLength`` clock hours of `timeZone` before `now` (the hour now running
    ///   is not used), 0 for an hour without a reading; at least `minPresentHours` hours must hold one.
    ///   A few Apple Watch background readings a day are enough. The data age is measured from the
    ///   end of the newest hour holding an RMSSD (default limit ``Freshness/slotsForecastMaxAge``).
    /// - ``InputEncoding/hourlyRun``: the most recent run of ``Preprocessing/inputLength``
    ///   consecutive UTC hours that each hold enough beats (a continuous recording); its last hour
    ///   must have ended at most 2 h ago by default (``Freshness/forecastMaxAge``). `timeZone` is
    ///   not used (the model was trained on UTC hours).
    ///
    /// - Parameters:
    ///   - readings: the beats of each reading (one array per reading, in time order; times in
    ///     seconds since 1970), at least the last 24 hours before `now`.
    ///   - maxDataAge: oldest acceptable newest hour, in seconds; `nil` (the default) is
    ///     ``Freshness/defaultMaxAge(for:)`` of the encoding; `.infinity` turns the check off.
    ///   - now: the time of the forecast (a wake-up) and of the age check.
    ///   - timeZone: the wearer's time zone; its UTC offset at `now` (`secondsFromGMT(for:)`)
    ///     places the clock hours.
    /// - Returns: the forecast, with ``FatigueForecast/dataAge`` set.
    /// - Throws: ``HRVKitError/modelNotBundled(_:)``, ``HRVKitError/notEnoughHistory(neededHours:foundHours:)``,
    ///   ``HRVKitError/staleData(age:limit:)``, ``HRVKitError/modelLoadFailed(model:reason:)``,
    ///   ``HRVKitError/predictionFailed(model:reason:)``, ``HRVKitError/invalidInput(_:)`` for a
    ///   forecaster whose encoding is not a forecast input.
    public func forecastFatigue(readings: [[Beat]], maxDataAge: TimeInterval? = nil, now: Date = Date(),
                                timeZone: TimeZone = .current) async throws -> FatigueForecast {
        try await forecastFatigue(readings: readings, with: fatigueForecaster(), maxDataAge: maxDataAge, now: now,
                                  timeZone: timeZone)
    }

    /// Forecasts the next 24 h fatigue score from `beats` (one recording, gaps marked with
    /// ``Beat/precededByGap``, or several readings joined by ``WatchInputs/joinedBeats(_:)``); see
    /// ``forecastFatigue(readings:maxDataAge:now:timeZone:)``.
    ///
    /// - Parameters:
    ///   - beats: beat times in seconds since 1970; for relative times pass `maxDataAge: .infinity`
    ///     (an hourly run only: hourly slots are placed at `now`).
    ///   - maxDataAge: oldest acceptable data, in seconds (`nil`: the encoding's default).
    ///   - now: the time of the forecast and of the age check.
    ///   - timeZone: the wearer's time zone (hourly slots).
    public func forecastFatigue(beats: [Beat], maxDataAge: TimeInterval? = nil, now: Date = Date(),
                                timeZone: TimeZone = .current) async throws -> FatigueForecast {
        try await forecastFatigue(readings: [beats], with: fatigueForecaster(), maxDataAge: maxDataAge, now: now,
                                  timeZone: timeZone)
    }

    /// The heart rate the model expects from a workout's pace and grade, next to the recorded one.
    ///
    /// The workout is resampled to the predictor's grid (``WorkoutGrid/init(samples:settings:)``),
    /// cut into non-overlapping windows of ``ActivitySettings/windowSteps`` steps, and the first
    /// `contextMinutes` of recorded heart rate are given to the model as calibration context; the
    /// steps after the context that have a recorded heart rate are scored. The windows are one run:
    /// each starts from the state the previous one ended with
    /// (``HeartRatePredicting/predictHeartRate(_:state:)``), so what the model learned from the
    /// context lasts the whole workout. During a workout, ``heartRateTracker(contextMinutes:)``
    /// updates the comparison as samples arrive.
    ///
    /// ```swift
    /// let comparison = try await HRVPipeline.shared.expectedHeartRate(samples: samples)
    /// print(comparison.summary)   // "HR 6 BPM above what this pace predicts for you"
    /// ```
    ///
    /// - Parameters:
    ///   - samples: the workout's route and heart rate (for example from `HealthData.workoutSamples(store:workout:)`).
    ///   - contextMinutes: minutes of recorded heart rate given as context (default: the model's
    ///     ``ActivitySettings/contextMinutes``); 0 predicts from pace and grade alone.
    /// - Returns: expected and recorded heart rate per step, and their mean difference.
    /// - Throws: ``HRVKitError/modelNotBundled(_:)``, ``HRVKitError/invalidInput(_:)`` (bad times or
    ///   context), ``HRVKitError/noActivityData``, ``HRVKitError/modelLoadFailed(model:reason:)``,
    ///   ``HRVKitError/predictionFailed(model:reason:)``.
    public func expectedHeartRate(samples: WorkoutSamples, contextMinutes: Double? = nil) async throws -> HeartRateComparison {
        try await expectedHeartRate(samples: samples, contextMinutes: contextMinutes, with: heartRatePredictor())
    }

    func expectedHeartRate(samples: WorkoutSamples, contextMinutes: Double?,
                           with predictor: any HeartRatePredicting) async throws -> HeartRateComparison {
        let settings = predictor.settings
        let minutes = contextMinutes ?? settings.contextMinutes
        guard minutes.isFinite, minutes >= 0 else {
            throw HRVKitError.invalidInput("context minutes must be finite and ≥ 0, got \(minutes)")
        }
        let grid = try WorkoutGrid(samples: samples, settings: settings.resampling)
        guard (0..<grid.count).contains(where: { grid.hasActivity(atStep: $0) }) else {
            throw HRVKitError.noActivityData
        }
        let contextSteps = settings.contextSteps(minutes: minutes)
        let inputs = try ActivityInput.inputs(for: grid, windowSteps: settings.windowSteps, contextSteps: contextSteps)
        // every window, in order: a window without a step to read (a long pause) still carries the state on
        let run = try await ActivityInput.predictRun(inputs) { try await predictor.predictHeartRate($0, state: $1) }
        return try HeartRateComparison(grid: grid, inputs: inputs, predictions: run.map(\.heartRateBpm),
                                       contextSteps: contextSteps)
    }

    /// A tracker of the expected heart rate during a workout: give it the samples recorded so far,
    /// as often as they arrive, and it returns the comparison, predicting only the windows that
    /// changed (see ``WorkoutHeartRateTracker``).
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` without a heart-rate predictor, or
    ///   ``HRVKitError/invalidInput(_:)`` for a negative or non-finite `contextMinutes`.
    public func heartRateTracker(contextMinutes: Double? = nil) throws -> WorkoutHeartRateTracker {
        try WorkoutHeartRateTracker(predictor: heartRatePredictor(), contextMinutes: contextMinutes)
    }

    func assessStrain(beats: [Beat], with classifier: any StrainClassifying, maxDataAge: TimeInterval,
                      now: Date) async throws -> StrainAssessment {
        let preprocessing = classifier.preprocessing
        let values: [Double], features: HRVFeatures, end: TimeInterval
        switch preprocessing.encoding {
        case let .reading(minBeats):
            let input = try preprocessing.readingInput(from: beats, minBeats: minBeats)
            (values, features, end) = (input.values, WatchInputs.readingFeatures(input.values), input.endTime)
        case .beatWindow:
            let window = try preprocessing.latestWindow(from: beats)
            (values, features, end) = (window.values, window.features, window.endTime)
        case .hourlyRun, .hourlySlots, .activity:
            throw HRVKitError.invalidInput("a strain classifier cannot read the \(preprocessing.encoding.name) encoding")
        }
        let age = try Freshness.check(newest: end, now: now, maxAge: maxDataAge)
        var assessment = try await classifier.assess(window: values, features: features,
                                                     windowEnd: Date(timeIntervalSince1970: end))
        assessment.dataAge = age
        return assessment
    }

    func forecastFatigue(readings: [[Beat]], with forecaster: any FatigueForecasting, maxDataAge: TimeInterval?,
                         now: Date, timeZone: TimeZone) async throws -> FatigueForecast {
        let preprocessing = forecaster.preprocessing
        let values: [Double], end: TimeInterval, newest: TimeInterval, limit: TimeInterval
        switch preprocessing.encoding {
        case let .hourlySlots(minPresentHours):
            let offset = Double(timeZone.secondsFromGMT(for: now))
            let input = try preprocessing.hourlySlotsInput(from: readings, utcOffsetSeconds: offset,
                                                           at: now.timeIntervalSince1970,
                                                           minPresentHours: max(minPresentHours, 1))
            guard let last = input.values.lastIndex(where: { $0 > 0 }) else {
                throw HRVKitError.notEnoughHistory(neededHours: max(minPresentHours, 1), foundHours: 0)
            }
            values = input.values
            end = input.endTime
            newest = input.endTime - Double(input.values.count - 1 - last) * 3600.0
            limit = maxDataAge ?? Freshness.slotsForecastMaxAge
        case .hourlyRun, .beatWindow:
            let beats = readings.count == 1 ? readings[0] : WatchInputs.joinedBeats(readings)
            let input = try preprocessing.latestHourlyRMSSD(from: beats)
            (values, end, newest) = (input.values, input.endTime, input.endTime)
            limit = maxDataAge ?? Freshness.forecastMaxAge
        case .reading, .activity:
            throw HRVKitError.invalidInput("a fatigue forecaster cannot read the \(preprocessing.encoding.name) encoding")
        }
        let age = try Freshness.check(newest: newest, now: now, maxAge: limit)
        var forecast = try await forecaster.forecast(hourlyRMSSD: values, inputEnd: Date(timeIntervalSince1970: end))
        forecast.dataAge = age
        return forecast
    }
}

extension HRVPipeline {
    /// The wearer's own baseline from their readings: a label-free readiness result that needs no
    /// model, so it is there whatever models the package bundles (see ``PersonalBaseline`` for the
    /// methods and their sources).
    ///
    /// Each local day's value is the median ln RMSSD of the readings that start in `window`; it is
    /// read against the 7-day mean and the 60-day normal range (mean ± the smallest worthwhile
    /// change). A figure is `nil` until enough days of readings exist: the 7-day mean needs 3 of the
    /// last 7 days, the normal range (and so the trend) 14 of the last 60.
    ///
    /// ```swift
    /// let baseline = HRVPipeline.shared.baseline(readings: readings)   // one [Beat] per reading
    /// if let today = baseline.latest { print(today.trend ?? "building your baseline", today.cv7dPercent ?? 0) }
    /// ```
    ///
    /// - Parameters:
    ///   - readings: the beats of each reading (times in seconds since 1970), oldest first; the last
    ///     60 days give the full normal range.
    ///   - window: the readings that make a day's value (default night, 00:00–06:00 local).
    ///   - timeZone: the wearer's time zone; its UTC offset at `now` places the days and hours.
    ///   - now: the time the offset is taken at.
    /// - Returns: one ``BaselineDay`` per day from the first to the last day with a reading.
    public func baseline(readings: [[Beat]], window: BaselineWindow = .night, timeZone: TimeZone = .current,
                         now: Date = Date()) -> BaselineResult {
        PersonalBaseline.result(readings: readings, utcOffsetSeconds: Double(timeZone.secondsFromGMT(for: now)),
                                window: window)
    }
}

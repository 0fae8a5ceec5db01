import Foundation

/// The package's entry point: beats or workouts in, a typed result out, for every model role.
///
/// Every entry point exists whatever models this package bundles: asking for a role it does not
/// bundle (and for which no implementation was supplied) throws
/// ``HRVKitError/modelNotBundled(_:)``. The model stages are protocols (``StrainClassifying``,
/// ``FatigueForecasting``, ``HeartRatePredicting``) whose defaults run the bundled Core ML models
/// through ``modelStore``.
///
/// ```swift
/// let pipeline = HRVPipeline()              // or HRVPipeline.shared
/// try await pipeline.load()                 // optional: load (and compile) the models now
/// let assessment = try await pipeline.assessStrain(beats: beats)
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

    /// Classifies the most recent clean window of `beats`.
    ///
    /// The beats are turned into RR intervals (honouring gaps), cleaned exactly as the training
    /// data was (the classifier's ``StrainClassifying/preprocessing``), and the latest gap-free
    /// window of ``Preprocessing/inputLength`` intervals within the artifact limit is classified,
    /// if its last beat is at most `maxDataAge` seconds before `now`.
    ///
    /// - Parameters:
    ///   - beats: beat times in seconds since 1970 (as `HealthData.beats(store:from:to:)` gives);
    ///     for a recording with relative times pass `maxDataAge: .infinity`.
    ///   - maxDataAge: oldest acceptable last beat, in seconds (default ``Freshness/strainMaxAge``, 6 h).
    ///   - now: the time the age is measured at.
    /// - Returns: the assessment, with ``StrainAssessment/dataAge`` set.
    /// - Throws: ``HRVKitError/modelNotBundled(_:)``, ``HRVKitError/notEnoughBeats(needed:found:)``,
    ///   ``HRVKitError/tooManyArtifacts(percent:limit:)``, ``HRVKitError/staleData(age:limit:)``,
    ///   ``HRVKitError/modelLoadFailed(model:reason:)``, ``HRVKitError/predictionFailed(model:reason:)``.
    public func assessStrain(beats: [Beat], maxDataAge: TimeInterval = Freshness.strainMaxAge,
                             now: Date = Date()) async throws -> StrainAssessment {
        try await assessStrain(beats: beats, with: strainClassifier(), maxDataAge: maxDataAge, now: now)
    }

    /// Forecasts the next 24 h fatigue score from the hourly RMSSD of `beats`.
    ///
    /// Uses the most recent run of ``Preprocessing/inputLength`` consecutive hours that each have
    /// a valid RMSSD (the forecaster's ``FatigueForecasting/preprocessing``), if the last of those
    /// hours ended at most `maxDataAge` seconds before `now`.
    ///
    /// - Parameters:
    ///   - beats: beat times in seconds since 1970; for relative times pass `maxDataAge: .infinity`.
    ///   - maxDataAge: oldest acceptable end of the last hour, in seconds (default
    ///     ``Freshness/forecastMaxAge``, 2 h).
    ///   - now: the time the age is measured at.
    /// - Returns: the forecast, with ``FatigueForecast/dataAge`` set.
    /// - Throws: ``HRVKitError/modelNotBundled(_:)``, ``HRVKitError/notEnoughHistory(neededHours:foundHours:)``,
    ///   ``HRVKitError/staleData(age:limit:)``, ``HRVKitError/modelLoadFailed(model:reason:)``,
    ///   ``HRVKitError/predictionFailed(model:reason:)``.
    public func forecastFatigue(beats: [Beat], maxDataAge: TimeInterval = Freshness.forecastMaxAge,
                                now: Date = Date()) async throws -> FatigueForecast {
        try await forecastFatigue(beats: beats, with: fatigueForecaster(), maxDataAge: maxDataAge, now: now)
    }

    /// The heart rate the model expects from a workout's pace and grade, next to the recorded one.
    ///
    /// The workout is resampled to the predictor's grid (``WorkoutGrid/init(samples:settings:)``),
    /// cut into non-overlapping windows of ``ActivitySettings/windowSteps`` steps, and the first
    /// `contextMinutes` of recorded heart rate are given to the model as calibration context; the
    /// steps after the context that have a recorded heart rate are scored.
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
        var predictions: [[Double]] = []
        for input in inputs {
            if input.valid.contains(true) {
                predictions.append(try await predictor.predictHeartRate(input))
            } else {
                predictions.append([Double](repeating: .nan, count: input.steps))  // nothing to read: no call
            }
        }
        return try HeartRateComparison(grid: grid, inputs: inputs, predictions: predictions, contextSteps: contextSteps)
    }

    func assessStrain(beats: [Beat], with classifier: any StrainClassifying, maxDataAge: TimeInterval,
                      now: Date) async throws -> StrainAssessment {
        let window = try classifier.preprocessing.latestWindow(from: beats)
        let age = try Freshness.check(newest: window.endTime, now: now, maxAge: maxDataAge)
        var assessment = try await classifier.assess(window: window.values, features: window.features,
                                                     windowEnd: Date(timeIntervalSince1970: window.endTime))
        assessment.dataAge = age
        return assessment
    }

    func forecastFatigue(beats: [Beat], with forecaster: any FatigueForecasting, maxDataAge: TimeInterval,
                         now: Date) async throws -> FatigueForecast {
        let input = try forecaster.preprocessing.latestHourlyRMSSD(from: beats)
        let age = try Freshness.check(newest: input.endTime, now: now, maxAge: maxDataAge)
        var forecast = try await forecaster.forecast(hourlyRMSSD: input.values,
                                                     inputEnd: Date(timeIntervalSince1970: input.endTime))
        forecast.dataAge = age
        return forecast
    }
}

import Foundation
#if canImport(CoreML)
import CoreML
#endif

/// Classifies a window or reading of RR intervals into strain classes: the model stage
/// ``HRVPipeline`` calls.
///
/// ``CoreMLStrainClassifier`` (the bundled model) is the default; pass another implementation
/// (a different model, a test double) to ``HRVPipeline/init(configuration:strainClassifier:fatigueForecaster:heartRatePredictor:)``.
public protocol StrainClassifying: Sendable {
    /// How beats become this classifier's input (cleaning, artifact limit, input length, and the
    /// ``Preprocessing/encoding``: ``InputEncoding/beatWindow`` or ``InputEncoding/reading(minBeats:)``).
    var preprocessing: Preprocessing { get }

    /// Classifies one input of cleaned RR intervals (ms, oldest first,
    /// ``Preprocessing/inputLength`` values of ``preprocessing``): a window of consecutive beats,
    /// or a reading's intervals followed by 0 (absent), as its encoding says.
    ///
    /// - Parameters:
    ///   - rrMs: the input.
    ///   - features: the window's HRV features, when already computed (else computed from `rrMs`).
    ///   - windowEnd: the time of the window's last beat, when known.
    func assess(window rrMs: [Double], features: HRVFeatures?, windowEnd: Date?) async throws -> StrainAssessment
}

extension StrainClassifying {
    /// Classifies one window of cleaned RR intervals; see ``assess(window:features:windowEnd:)``.
    public func assess(window rrMs: [Double]) async throws -> StrainAssessment {
        try await assess(window: rrMs, features: nil, windowEnd: nil)
    }
}

/// Forecasts the next 24 h fatigue score from hourly RMSSD: the model stage ``HRVPipeline`` calls.
///
/// ``CoreMLFatigueForecaster`` (the bundled model) is the default; pass another implementation
/// to ``HRVPipeline/init(configuration:strainClassifier:fatigueForecaster:heartRatePredictor:)``.
public protocol FatigueForecasting: Sendable {
    /// How beats become this forecaster's input (cleaning, artifact limit, hours of history, and
    /// the ``Preprocessing/encoding``: ``InputEncoding/hourlyRun`` or
    /// ``InputEncoding/hourlySlots(minPresentHours:)``).
    var preprocessing: Preprocessing { get }

    /// Forecasts from hourly RMSSD values (ms, oldest first, ``Preprocessing/inputLength`` values
    /// of ``preprocessing``; 0 = an hour without a reading in hourly slots); `inputEnd` is the end
    /// of the last hour, when known.
    func forecast(hourlyRMSSD: [Double], inputEnd: Date?) async throws -> FatigueForecast
}

extension FatigueForecasting {
    /// Forecasts from hourly RMSSD values; see ``forecast(hourlyRMSSD:inputEnd:)``.
    public func forecast(hourlyRMSSD: [Double]) async throws -> FatigueForecast {
        try await forecast(hourlyRMSSD: hourlyRMSSD, inputEnd: nil)
    }
}

/// Predicts a runner's heart rate per step of a workout from speed and grade (and, as calibration
/// context, the heart rate recorded in the first minutes): the model stage of
/// ``HRVPipeline/expectedHeartRate(samples:contextMinutes:)``.
///
/// ``CoreMLHeartRatePredictor`` (the bundled model) is the default; pass another implementation
/// to ``HRVPipeline/init(configuration:strainClassifier:fatigueForecaster:heartRatePredictor:)``.
public protocol HeartRatePredicting: Sendable {
    /// The predictor's grid, window and default context (``ActivitySettings/windowSteps`` steps
    /// per input).
    var settings: ActivitySettings { get }

    /// The heart rate (bpm) at every step of one input window (``ActivitySettings/windowSteps``
    /// steps, oldest first) at the start of a run; step t may use steps up to t.
    func predictHeartRate(_ input: ActivityInput) async throws -> [Double]

    /// The heart rate at every step of one window of a run, continuing from `state` (the state the
    /// run's previous window ended with, ``ActivityState/start`` for its first), and the state after
    /// this window. A predictor without memory across windows (the default implementation) returns
    /// ``predictHeartRate(_:)`` and the state it was given.
    func predictHeartRate(_ input: ActivityInput, state: ActivityState) async throws -> ActivityPrediction
}

extension HeartRatePredicting {
    /// A predictor without state: every window from the start (see the protocol requirement).
    public func predictHeartRate(_ input: ActivityInput, state: ActivityState) async throws -> ActivityPrediction {
        ActivityPrediction(heartRateBpm: try await predictHeartRate(input), state: state)
    }
}

/// The strain classifier backed by a Core ML model of a ``ModelStore`` (the default).
public struct CoreMLStrainClassifier: StrainClassifying {
    /// The model used.
    public let model: BundledModel
    /// The store that loads it.
    public let store: ModelStore

    /// A classifier backed by `model`, loaded by `store`.
    public init(model: BundledModel, store: ModelStore) {
        self.model = model
        self.store = store
    }

    /// The classifier of `store`'s configuration.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when it has no strain classifier.
    public init(store: ModelStore) throws {
        self.init(model: try store.model(for: .strainClassifier), store: store)
    }

    /// The settings ``model`` was trained with.
    public var preprocessing: Preprocessing { model.preprocessing }

    /// Classifies one window with the Core ML model.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` for a wrong length or non-finite values (or a
    ///   model of another role), ``HRVKitError/modelLoadFailed(model:reason:)``,
    ///   ``HRVKitError/predictionFailed(model:reason:)``.
    public func assess(window rrMs: [Double], features: HRVFeatures?, windowEnd: Date?) async throws -> StrainAssessment {
        try model.checkInput(rrMs, role: .strainClassifier)
        #if canImport(CoreML)
        let output = try await store.predict(model, rrMs)
        guard let dictionary = output.featureValue(for: model.outputName)?.dictionaryValue else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "output \(model.outputName) is missing")
        }
        var probabilities: [StrainLabel: Double] = [:]
        for label in StrainLabel.allCases {
            guard let p = dictionary[label.rawValue]?.doubleValue, p.isFinite else {
                throw HRVKitError.predictionFailed(model: model.id, reason: "no finite probability for \(label.rawValue)")
            }
            probabilities[label] = p
        }
        let windowFeatures = features ?? model.features(of: rrMs)
        if let name = model.labelOutputName,
           let top = output.featureValue(for: name)?.stringValue,
           let label = StrainLabel(rawValue: top) {
            return StrainAssessment(label: label, probabilities: probabilities, features: windowFeatures, windowEnd: windowEnd)
        }
        return StrainAssessment(probabilities: probabilities, features: windowFeatures, windowEnd: windowEnd)
        #else
        throw ModelStore.coreMLUnavailable(model)
        #endif
    }
}

/// The fatigue forecaster backed by a Core ML model of a ``ModelStore`` (the default).
public struct CoreMLFatigueForecaster: FatigueForecasting {
    /// The model used.
    public let model: BundledModel
    /// The store that loads it.
    public let store: ModelStore

    /// A forecaster backed by `model`, loaded by `store`.
    public init(model: BundledModel, store: ModelStore) {
        self.model = model
        self.store = store
    }

    /// The forecaster of `store`'s configuration.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when it has no fatigue forecaster.
    public init(store: ModelStore) throws {
        self.init(model: try store.model(for: .fatigueForecaster), store: store)
    }

    /// The settings ``model`` was trained with.
    public var preprocessing: Preprocessing { model.preprocessing }

    /// Forecasts with the Core ML model; the score is clamped to 0...100.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` for a wrong length or non-finite values (or a
    ///   model of another role), ``HRVKitError/modelLoadFailed(model:reason:)``,
    ///   ``HRVKitError/predictionFailed(model:reason:)``.
    public func forecast(hourlyRMSSD: [Double], inputEnd: Date?) async throws -> FatigueForecast {
        try model.checkInput(hourlyRMSSD, role: .fatigueForecaster)
        #if canImport(CoreML)
        let output = try await store.predict(model, hourlyRMSSD)
        guard let array = output.featureValue(for: model.outputName)?.multiArrayValue, array.count > 0 else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "output \(model.outputName) is missing")
        }
        let score = array[0].doubleValue
        guard score.isFinite else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "the score is not finite")
        }
        return FatigueForecast(score: min(max(score, 0), 100), hourlyRMSSD: hourlyRMSSD, inputEnd: inputEnd)
        #else
        throw ModelStore.coreMLUnavailable(model)
        #endif
    }
}

/// The heart-rate predictor backed by a Core ML model of a ``ModelStore`` (the default).
public struct CoreMLHeartRatePredictor: HeartRatePredicting {
    /// The model used.
    public let model: BundledModel
    /// The store that loads it.
    public let store: ModelStore

    /// A predictor backed by `model`, loaded by `store`.
    public init(model: BundledModel, store: ModelStore) {
        self.model = model
        self.store = store
    }

    /// The predictor of `store`'s configuration.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when it has no heart-rate predictor.
    public init(store: ModelStore) throws {
        self.init(model: try store.model(for: .heartRatePredictor), store: store)
    }

    /// The settings ``model`` was trained with.
    public var settings: ActivitySettings { model.activitySettings }

    /// Predicts one window at the start of a run; see ``predictHeartRate(_:state:)``.
    public func predictHeartRate(_ input: ActivityInput) async throws -> [Double] {
        try await predictHeartRate(input, state: .start).heartRateBpm
    }

    /// Predicts with the Core ML model: float32 input `(1, steps, 3)` and, when the model carries a
    /// state across windows (``BundledModel/stateInputName``), the state `(1, stateSize)` the run's
    /// previous window ended with (omitted at the start: the model's zeros); outputs
    /// ``BundledModel/outputName`` `(1, steps)` in bpm and the state after the window.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` for a window of the wrong length or with
    ///   non-finite values, a state of the wrong size (or a model of another role),
    ///   ``HRVKitError/modelLoadFailed(model:reason:)``, ``HRVKitError/predictionFailed(model:reason:)``.
    public func predictHeartRate(_ input: ActivityInput, state: ActivityState) async throws -> ActivityPrediction {
        let values = input.modelInput.map { Double($0) }
        try model.checkInput(values, role: .heartRatePredictor)
        try model.checkState(state)
        #if canImport(CoreML)
        let output = try await store.predict(model, values, state: state.isStart ? nil : state.values)
        guard let array = output.featureValue(for: model.outputName)?.multiArrayValue, array.count >= model.inputLength else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "output \(model.outputName) is missing or short")
        }
        let bpm = (0..<model.inputLength).map { array[$0].doubleValue }
        guard bpm.allSatisfy({ $0.isFinite }) else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "a predicted heart rate is not finite")
        }
        guard let name = model.stateOutputName else {
            return ActivityPrediction(heartRateBpm: bpm, state: state)
        }
        guard let after = output.featureValue(for: name)?.multiArrayValue, after.count == model.stateSize else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "output \(name) is missing or not \(model.stateSize) values")
        }
        let next = (0..<after.count).map { after[$0].floatValue }
        guard next.allSatisfy({ $0.isFinite }) else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "the state after the window is not finite")
        }
        return ActivityPrediction(heartRateBpm: bpm, state: ActivityState(values: next))
        #else
        throw ModelStore.coreMLUnavailable(model)
        #endif
    }
}

extension BundledModel {
    /// HRV features of one input of this model (a reading's present values, or the window).
    func features(of values: [Double]) -> HRVFeatures {
        if case .reading = inputEncoding { return WatchInputs.readingFeatures(values) }
        return HRVFeatures(rrMs: values)
    }

    /// Values of one input: ``inputLength`` × ``inputChannels``.
    var inputValueCount: Int { inputLength * inputChannels }

    /// Refuses a state that is neither the start of a run nor ``stateSize`` finite values.
    func checkState(_ state: ActivityState) throws {
        guard !state.isStart else { return }
        guard stateInputName != nil, state.values.count == stateSize else {
            throw HRVKitError.invalidInput("\(id) carries \(stateSize) state values, got \(state.values.count)")
        }
        guard state.values.allSatisfy({ $0.isFinite }) else {
            throw HRVKitError.invalidInput("\(id) state holds a non-finite value")
        }
    }

    /// Refuses an input of the wrong length or with non-finite values, and a model of another role.
    func checkInput(_ values: [Double], role expected: ModelRole) throws {
        guard role == expected else {
            throw HRVKitError.invalidInput("\(id) is a \(role.rawValue), not a \(expected.rawValue)")
        }
        guard values.count == inputValueCount else {
            throw HRVKitError.invalidInput("\(id) needs \(inputValueCount) values, got \(values.count)")
        }
        guard values.allSatisfy({ $0.isFinite }) else {
            throw HRVKitError.invalidInput("\(id) input holds a non-finite value")
        }
    }
}

#if canImport(CoreML)
extension BundledModel {
    /// The input feature: float32, shape (1, ``inputLength``, ``inputChannels``), raw units, row-major;
    /// with `state`, also the recurrent state (1, ``stateSize``).
    func makeInput(_ values: [Double], state: [Float]? = nil) throws -> any MLFeatureProvider {
        do {
            let array = try MLMultiArray(shape: [1, NSNumber(value: inputLength), NSNumber(value: inputChannels)],
                                         dataType: .float32)
            for (i, v) in values.enumerated() {
                array[i] = NSNumber(value: Float(v))
            }
            var features: [String: MLFeatureValue] = [inputName: MLFeatureValue(multiArray: array)]
            if let state, let name = stateInputName {
                let carried = try MLMultiArray(shape: [1, NSNumber(value: state.count)], dataType: .float32)
                for (i, v) in state.enumerated() {
                    carried[i] = NSNumber(value: v)
                }
                features[name] = MLFeatureValue(multiArray: carried)
            }
            return try MLDictionaryFeatureProvider(dictionary: features)
        } catch {
            throw HRVKitError.invalidInput("cannot build the input of \(id): \(error.localizedDescription)")
        }
    }
}

extension ModelStore {
    /// Runs `model` once on `values` (already checked) and, for a model with state, the state the
    /// previous window ended with (nil: the start), loading the model first if needed.
    nonisolated func predict(_ model: BundledModel, _ values: [Double], state: [Float]? = nil) async throws
        -> any MLFeatureProvider {
        let loaded = try await loaded(model)
        let input = try model.makeInput(values, state: state)
        do {
            return try await loaded.model.prediction(from: input)
        } catch {
            throw HRVKitError.predictionFailed(model: model.id, reason: error.localizedDescription)
        }
    }
}
#endif

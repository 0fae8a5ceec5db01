#if canImport(CoreML)
import CoreML
import Foundation

extension BundledModel {
    /// The `rr_sequence` input: float32, shape (1, length, 1), raw milliseconds.
    func makeInput(_ values: [Double]) throws -> any MLFeatureProvider {
        guard values.count == inputLength else {
            throw HRVKitError.invalidInput("\(id) needs \(inputLength) values, got \(values.count)")
        }
        guard values.allSatisfy({ $0.isFinite }) else {
            throw HRVKitError.invalidInput("\(id) input holds a non-finite value")
        }
        do {
            let array = try MLMultiArray(shape: [1, NSNumber(value: inputLength), 1], dataType: .float32)
            for (i, v) in values.enumerated() {
                array[i] = NSNumber(value: Float(v))
            }
            return try MLDictionaryFeatureProvider(dictionary: [inputName: MLFeatureValue(multiArray: array)])
        } catch {
            throw HRVKitError.invalidInput("cannot build the input of \(id): \(error.localizedDescription)")
        }
    }

    /// Runs the model once.
    func predict(_ values: [Double]) async throws -> any MLFeatureProvider {
        let loaded = try await ModelStore.shared.model(self)
        let input = try makeInput(values)
        do {
            return try await loaded.model.prediction(from: input)
        } catch {
            throw HRVKitError.predictionFailed(model: id, reason: error.localizedDescription)
        }
    }
}

/// The bundled strain classifier.
public struct StrainClassifier: Sendable {
    /// The model used.
    public let model: BundledModel

    /// A classifier backed by `model`.
    public init(model: BundledModel) {
        self.model = model
    }

    /// Classifies one window of cleaned RR intervals (ms, oldest first, ``BundledModel/inputLength`` values).
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` for a wrong length or non-finite values,
    ///   ``HRVKitError/modelLoadFailed(model:reason:)``, ``HRVKitError/predictionFailed(model:reason:)``.
    public func assess(window rrMs: [Double], features: HRVFeatures? = nil, windowEnd: Date? = nil) async throws -> StrainAssessment {
        let output = try await model.predict(rrMs)
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
        let windowFeatures = features ?? HRVFeatures(rrMs: rrMs)
        if let name = model.labelOutputName,
           let top = output.featureValue(for: name)?.stringValue,
           let label = StrainLabel(rawValue: top) {
            return StrainAssessment(label: label, probabilities: probabilities, features: windowFeatures, windowEnd: windowEnd)
        }
        return StrainAssessment(probabilities: probabilities, features: windowFeatures, windowEnd: windowEnd)
    }
}

/// The bundled fatigue forecaster.
public struct FatigueForecaster: Sendable {
    /// The model used.
    public let model: BundledModel

    /// A forecaster backed by `model`.
    public init(model: BundledModel) {
        self.model = model
    }

    /// Forecasts the next 24 h from hourly RMSSD values (ms, oldest first, ``BundledModel/inputLength`` values).
    ///
    /// The score is clamped to 0...100.
    public func forecast(hourlyRMSSD: [Double], inputEnd: Date? = nil) async throws -> FatigueForecast {
        let output = try await model.predict(hourlyRMSSD)
        guard let array = output.featureValue(for: model.outputName)?.multiArrayValue, array.count > 0 else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "output \(model.outputName) is missing")
        }
        let score = array[0].doubleValue
        guard score.isFinite else {
            throw HRVKitError.predictionFailed(model: model.id, reason: "the score is not finite")
        }
        return FatigueForecast(score: min(max(score, 0), 100), hourlyRMSSD: hourlyRMSSD, inputEnd: inputEnd)
    }
}
#endif

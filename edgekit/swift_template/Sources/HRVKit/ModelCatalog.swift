import Foundation

/// Core ML compute units a model asks for (mirrors `MLComputeUnits`).
public enum ComputePreference: String, Sendable, Hashable, CaseIterable {
    /// CPU, GPU and Neural Engine as Core ML sees fit.
    case all
    /// CPU only.
    case cpuOnly
    /// CPU and GPU.
    case cpuAndGPU
    /// CPU and Neural Engine.
    case cpuAndNeuralEngine
}

/// What a model does. The package's API has an entry point for every role, whether or not a model
/// of that role is bundled; an absent one is ``HRVKitError/modelNotBundled(_:)``.
public enum ModelRole: String, Sendable, Hashable, CaseIterable {
    /// Classifies one reading or window of RR intervals into ``StrainLabel`` classes.
    case strainClassifier
    /// Forecasts the fatigue score of the next 24 hours from hourly RMSSD.
    case fatigueForecaster
    /// Predicts heart rate per step of a run from speed, grade and optional recorded heart rate
    /// (see ``ActivitySettings``).
    case heartRatePredictor

    /// How beats become this role's model input (the settings the bundled model was trained with).
    ///
    /// The heart-rate predictor reads workouts, not beats: its value is the strain classifier's
    /// cleaning settings with the predictor's window length; its input is described by
    /// ``ActivitySettings/heartRatePredictor``.
    public var preprocessing: Preprocessing {
        switch self {
        case .strainClassifier: return .strainClassifier
        case .fatigueForecaster: return .fatigueForecaster
        case .heartRatePredictor:
            var settings = Preprocessing.strainClassifier
            settings.inputLength = ActivitySettings.heartRatePredictor.windowSteps
            settings.encoding = .activity
            return settings
        }
    }

    /// Values per step of this role's input: 3 (speed, grade, context) for the heart-rate
    /// predictor, else 1.
    public var inputChannels: Int {
        self == .heartRatePredictor ? 3 : 1
    }
}

/// A Core ML model shipped in this package, described by the build that verified it.
public struct BundledModel: Sendable, Hashable, Identifiable {
    /// The model's name in the edgekit build.
    public let id: String
    /// What the model does.
    public let role: ModelRole
    /// The quantization variant bundled (for example `fp16` or `int8`).
    public let variant: String
    /// Base name of the model resource (`<resourceName>.mlmodelc` or `.mlpackage`).
    public let resourceName: String
    /// SHA-256 of the `.mlpackage` (keys the compiled-model cache).
    public let sha256: String
    /// Size of the `.mlpackage` in bytes.
    public let byteCount: Int
    /// Name of the single input (float32, shape 1 × ``inputLength`` × ``inputChannels``: RR
    /// intervals or hourly RMSSD in milliseconds, or the activity model's speed, grade and context).
    public let inputName: String
    /// Time steps of the input: beats of a window or reading, hours of a series, or grid steps of a
    /// workout window.
    public let inputLength: Int
    /// How the input is made (the encoding the model was trained with): ``HRVPipeline`` reads the
    /// beats this way, so its API is the same whatever models are bundled.
    public let inputEncoding: InputEncoding
    /// Values per input step: 1, or 3 for the heart-rate predictor (speed m/s, grade, context bpm).
    public let inputChannels: Int
    /// Seconds between input steps of the heart-rate predictor (`nil` for the RR models).
    public let stepSeconds: Double?
    /// Output holding the class probabilities (classifier), the score (forecaster) or the heart
    /// rate per step (heart-rate predictor).
    public let outputName: String
    /// Output holding the top class label (classifier only).
    public let labelOutputName: String?
    /// Class labels in output order (classifier only).
    public let labels: [String]
    /// Compute units the model is loaded with unless ``HRVKitConfiguration/computeUnits`` says otherwise.
    public let computeUnits: ComputePreference
    /// Largest difference from the PyTorch reference accepted in this package's tests.
    public let tolerance: Double
    /// What the model computes.
    public let summary: String
    /// Model version.
    public let version: String
    /// Model author.
    public let author: String
    /// Model license.
    public let license: String
    /// SHA-256 of the training data the model was fitted on (empty when unknown).
    public let trainingDataFingerprint: String
    /// Measured accuracy on held-out test subjects.
    public let accuracy: String
    /// Why this variant was bundled.
    public let selectionReason: String
    /// Input of the recurrent state a model carries from one window of a run to the next (float32,
    /// 1 × ``stateSize``; optional: omitted at the start of a run), or `nil` for a model without one.
    public let stateInputName: String?
    /// Output holding the state after the window (to give the run's next window), or `nil`.
    public let stateOutputName: String?
    /// Values of the state (0 without one).
    public let stateSize: Int

    /// Describes a model; the bundled ones are in ``ModelCatalog/all``.
    public init(id: String, role: ModelRole, variant: String, resourceName: String, sha256: String, byteCount: Int,
                inputName: String, inputLength: Int, outputName: String, labelOutputName: String?, labels: [String],
                computeUnits: ComputePreference, tolerance: Double, summary: String, version: String, author: String,
                license: String, trainingDataFingerprint: String, accuracy: String, selectionReason: String,
                inputChannels: Int = 1, stepSeconds: Double? = nil, inputEncoding: InputEncoding? = nil,
                stateInputName: String? = nil, stateOutputName: String? = nil, stateSize: Int = 0) {
        self.id = id
        self.role = role
        self.variant = variant
        self.resourceName = resourceName
        self.sha256 = sha256
        self.byteCount = byteCount
        self.inputName = inputName
        self.inputLength = inputLength
        self.inputEncoding = inputEncoding ?? role.preprocessing.encoding
        self.inputChannels = inputChannels
        self.stepSeconds = stepSeconds
        self.outputName = outputName
        self.labelOutputName = labelOutputName
        self.labels = labels
        self.computeUnits = computeUnits
        self.tolerance = tolerance
        self.summary = summary
        self.version = version
        self.author = author
        self.license = license
        self.trainingDataFingerprint = trainingDataFingerprint
        self.accuracy = accuracy
        self.selectionReason = selectionReason
        self.stateInputName = stateInputName
        self.stateOutputName = stateOutputName
        self.stateSize = stateSize
    }

    /// How beats become this model's input: ``ModelRole/preprocessing`` of its role, with its
    /// own ``inputLength`` and ``inputEncoding``.
    public var preprocessing: Preprocessing {
        var settings = role.preprocessing
        settings.inputLength = inputLength
        settings.encoding = inputEncoding
        return settings
    }

    /// The heart-rate predictor's settings with this model's window and step
    /// (``ActivitySettings/heartRatePredictor`` otherwise).
    public var activitySettings: ActivitySettings {
        var settings = ActivitySettings.heartRatePredictor
        settings.windowSteps = inputLength
        if let stepSeconds { settings.resampling.stepSeconds = stepSeconds }
        return settings
    }
}

/// The models bundled in this package (generated at package time) and lookups by role.
public enum ModelCatalog: Sendable {
    /// Every bundled model, at most one per role.
    public static var all: [BundledModel] { bundled }

    /// The bundled model of `role`, or `nil` when this package has none.
    public static func bundledModel(for role: ModelRole) -> BundledModel? {
        bundled.first { $0.role == role }
    }

    /// The bundled model of `role`.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when this package has none.
    public static func model(for role: ModelRole) throws -> BundledModel {
        guard let model = bundledModel(for: role) else { throw HRVKitError.modelNotBundled(role.rawValue) }
        return model
    }

    /// Whether a model of `role` is bundled.
    public static func isBundled(_ role: ModelRole) -> Bool {
        bundledModel(for: role) != nil
    }
}

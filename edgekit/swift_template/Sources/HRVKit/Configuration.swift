import Foundation

/// Where a ``ModelStore`` finds the model files.
public enum ModelLocation: Sendable, Hashable {
    /// The resources of this package (the default): compiled `.mlmodelc` when Xcode built the
    /// app, else the copied `.mlpackage`, compiled on first use.
    case packageResources
    /// A directory holding, for each model, `<resourceName>.mlmodelc` or `<resourceName>.mlpackage`
    /// (see ``BundledModel/resourceName``), for example the same models downloaded after install.
    case directory(URL)
}

/// How the package loads and runs its models. A value type: build one, pass it to
/// ``HRVPipeline/init(configuration:strainClassifier:fatigueForecaster:heartRatePredictor:)`` or
/// ``ModelStore/init(configuration:)``.
///
/// ```swift
/// var configuration = HRVKitConfiguration()
/// configuration.computeUnits = .cpuOnly
/// let pipeline = HRVPipeline(configuration: configuration)
/// ```
public struct HRVKitConfiguration: Sendable, Hashable {
    /// The models the store may load (default: every model bundled in this package,
    /// ``ModelCatalog/all``). A role with no model here is ``HRVKitError/modelNotBundled(_:)``.
    public var models: [BundledModel]
    /// Compute units for every model; `nil` (the default) loads each model with its own
    /// ``BundledModel/computeUnits``.
    public var computeUnits: ComputePreference?
    /// Where the model files are (default: this package's resources).
    public var modelLocation: ModelLocation
    /// Directory of the cache of models compiled on device; `nil` (the default) is
    /// `Application Support/<package name>/CompiledModels`. Unused for models compiled at build time.
    public var compiledModelCacheDirectory: URL?

    /// Creates a configuration; every argument has the default described on its property.
    public init(models: [BundledModel] = ModelCatalog.all, computeUnits: ComputePreference? = nil,
                modelLocation: ModelLocation = .packageResources, compiledModelCacheDirectory: URL? = nil) {
        self.models = models
        self.computeUnits = computeUnits
        self.modelLocation = modelLocation
        self.compiledModelCacheDirectory = compiledModelCacheDirectory
    }

    /// The model of `role` in ``models``.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when there is none.
    public func model(for role: ModelRole) throws -> BundledModel {
        guard let model = models.first(where: { $0.role == role }) else {
            throw HRVKitError.modelNotBundled(role.rawValue)
        }
        return model
    }

    /// The compute units `model` is loaded with: ``computeUnits`` if set, else the model's own.
    public func computeUnits(for model: BundledModel) -> ComputePreference {
        computeUnits ?? model.computeUnits
    }
}

import Foundation
#if canImport(CoreML)
import CoreML
#endif

/// Loads, keeps and releases the Core ML models of one ``HRVKitConfiguration``.
///
/// Models load on first use, or ahead of time with ``load()``; ``unload()`` releases them (for
/// example on a memory warning) and the next use loads them again. Concurrent first uses of a
/// model share one load.
///
/// `Package.swift` declares each `.mlpackage` as a processed resource, so Xcode compiles it into
/// the bundle as `.mlmodelc`; that compiled model is loaded directly (the only way on watchOS).
/// A build that copied the `.mlpackage` uncompiled (SwiftPM's command line, other build systems)
/// falls back to compiling it on first use with `MLModel.compileModel(at:)`, cached (see
/// ``HRVKitConfiguration/compiledModelCacheDirectory``) under a name keyed by the model's SHA-256,
/// so later launches skip compilation and an updated model never reuses a stale cache. watchOS
/// has no on-device compiler: there an uncompiled model fails with
/// ``HRVKitError/modelLoadFailed(model:reason:)``. Where Core ML does not exist (Linux), loading
/// fails with that error too.
public actor ModelStore {
    /// The configuration the models are loaded with.
    public nonisolated let configuration: HRVKitConfiguration

    #if canImport(CoreML)
    private enum Entry {
        case loading(Task<LoadedModel, any Error>)
        case ready(LoadedModel)
    }

    private var entries: [String: Entry] = [:]
    #endif

    /// A store for `configuration`; it loads nothing until asked.
    public init(configuration: HRVKitConfiguration = HRVKitConfiguration()) {
        self.configuration = configuration
    }

    /// The model of `role` this store serves.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)`` when the configuration has none.
    public nonisolated func model(for role: ModelRole) throws -> BundledModel {
        try configuration.model(for: role)
    }

    /// Loads every model of the configuration (compiling it first where needed), so that the first
    /// prediction does not wait. Models already loaded are kept.
    ///
    /// - Throws: ``HRVKitError/modelLoadFailed(model:reason:)``.
    public func load() async throws {
        for model in configuration.models {
            try await prepare(model)
        }
    }

    /// Loads the model of `role`; see ``load()``.
    ///
    /// - Throws: ``HRVKitError/modelNotBundled(_:)``, ``HRVKitError/modelLoadFailed(model:reason:)``.
    public func load(_ role: ModelRole) async throws {
        try await prepare(model(for: role))
    }

    /// Releases every loaded model. Predictions already running finish; later ones load again.
    public func unload() {
        #if canImport(CoreML)
        entries.removeAll()
        #endif
    }

    /// Releases the model of `role`, if loaded; see ``unload()``.
    public func unload(_ role: ModelRole) {
        #if canImport(CoreML)
        for model in configuration.models where model.role == role {
            entries[model.id] = nil
        }
        #endif
    }

    /// Whether the model of `role` is loaded and ready to predict.
    public func isLoaded(_ role: ModelRole) -> Bool {
        #if canImport(CoreML)
        return configuration.models.contains { model in
            if model.role == role, case .ready? = entries[model.id] { return true }
            return false
        }
        #else
        return false
        #endif
    }

    private func prepare(_ model: BundledModel) async throws {
        #if canImport(CoreML)
        _ = try await loaded(model)
        #else
        throw Self.coreMLUnavailable(model)
        #endif
    }

    /// The error of loading `model` where Core ML does not exist.
    static func coreMLUnavailable(_ model: BundledModel) -> HRVKitError {
        .modelLoadFailed(model: model.id, reason: "Core ML is not available on this platform")
    }
}

#if canImport(CoreML)
extension ComputePreference {
    /// The matching `MLComputeUnits`.
    public var mlComputeUnits: MLComputeUnits {
        switch self {
        case .all: return .all
        case .cpuOnly: return .cpuOnly
        case .cpuAndGPU: return .cpuAndGPU
        case .cpuAndNeuralEngine: return .cpuAndNeuralEngine
        }
    }
}

/// A loaded Core ML model. Core ML's async prediction may be called concurrently on one model.
final class LoadedModel: @unchecked Sendable {
    let info: BundledModel
    let model: MLModel

    init(info: BundledModel, model: MLModel) {
        self.info = info
        self.model = model
    }
}

extension ModelStore {
    /// The loaded `info`: loads it on first use (one load shared by concurrent callers).
    func loaded(_ info: BundledModel) async throws -> LoadedModel {
        switch entries[info.id] {
        case let .ready(model)?:
            return model
        case let .loading(task)?:
            return try await task.value
        case nil:
            break
        }
        let configuration = self.configuration
        let task = Task<LoadedModel, any Error> { try await Self.load(info, configuration) }
        entries[info.id] = .loading(task)
        do {
            let model = try await task.value
            // Keep it unless unload() (or a newer load) replaced the entry meanwhile.
            if case let .loading(current)? = entries[info.id], current == task {
                entries[info.id] = .ready(model)
            }
            return model
        } catch {
            if case let .loading(current)? = entries[info.id], current == task {
                entries[info.id] = nil  // allow a retry after a failure
            }
            throw error
        }
    }

    private static func load(_ info: BundledModel, _ configuration: HRVKitConfiguration) async throws -> LoadedModel {
        let units = configuration.computeUnits(for: info)
        let (url, fromCache) = try await compiledModelURL(info, configuration)
        do {
            return LoadedModel(info: info, model: try await loadModel(at: url, units))
        } catch {
            guard fromCache else {
                throw HRVKitError.modelLoadFailed(model: info.id, reason: error.localizedDescription)
            }
        }
        // A damaged cache entry: compile again once.
        try? FileManager.default.removeItem(at: url)
        let (fresh, _) = try await compiledModelURL(info, configuration)
        do {
            return LoadedModel(info: info, model: try await loadModel(at: fresh, units))
        } catch {
            throw HRVKitError.modelLoadFailed(model: info.id, reason: error.localizedDescription)
        }
    }

    private static func loadModel(at url: URL, _ units: ComputePreference) async throws -> MLModel {
        let configuration = MLModelConfiguration()
        configuration.computeUnits = units.mlComputeUnits
        return try await MLModel.load(contentsOf: url, configuration: configuration)
    }

    /// The model's files at the configured location: the compiled `.mlmodelc` and the `.mlpackage`,
    /// each when present.
    private static func modelFiles(_ info: BundledModel, _ location: ModelLocation) -> (compiled: URL?, package: URL?) {
        switch location {
        case .packageResources:
            let bundle = Bundle.module
            return (bundle.url(forResource: info.resourceName, withExtension: "mlmodelc"),
                    bundle.url(forResource: info.resourceName, withExtension: "mlpackage"))
        case let .directory(directory):
            let fm = FileManager.default
            let compiled = directory.appendingPathComponent("\(info.resourceName).mlmodelc", isDirectory: true)
            let package = directory.appendingPathComponent("\(info.resourceName).mlpackage", isDirectory: true)
            return (fm.fileExists(atPath: compiled.path) ? compiled : nil,
                    fm.fileExists(atPath: package.path) ? package : nil)
        }
    }

    /// The compiled model: as found when the build compiled it (Xcode), else from (or into) the
    /// cache; the Boolean says whether it came from the cache.
    private static func compiledModelURL(_ info: BundledModel, _ configuration: HRVKitConfiguration) async throws -> (URL, Bool) {
        let files = modelFiles(info, configuration.modelLocation)
        if let compiled = files.compiled {
            return (compiled, false)
        }
        guard let source = files.package else {
            throw HRVKitError.modelLoadFailed(model: info.id, reason: "\(info.resourceName) is missing from \(configuration.modelLocation)")
        }
        #if os(watchOS)
        _ = source
        throw HRVKitError.modelLoadFailed(
            model: info.id,
            reason: "the model was bundled uncompiled and watchOS cannot compile Core ML models on device; "
                + "build the watch app with Xcode (without EDGEKIT_COPY_MODELS) so it is compiled into the bundle")
        #else
        let fm = FileManager.default
        let cacheDirectory: URL
        let cached: URL
        do {
            if let chosen = configuration.compiledModelCacheDirectory {
                cacheDirectory = chosen
            } else {
                let support = try fm.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
                cacheDirectory = support.appendingPathComponent("\(ModelCatalog.packageName)/CompiledModels", isDirectory: true)
            }
            try fm.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
            cached = cacheDirectory.appendingPathComponent("\(info.resourceName)-\(info.sha256.prefix(16)).mlmodelc", isDirectory: true)
        } catch {
            throw HRVKitError.modelLoadFailed(model: info.id, reason: "no cache directory: \(error.localizedDescription)")
        }
        if fm.fileExists(atPath: cached.path) {
            return (cached, true)
        }
        let compiled: URL
        do {
            compiled = try await MLModel.compileModel(at: source)
        } catch {
            throw HRVKitError.modelLoadFailed(model: info.id, reason: "compilation failed: \(error.localizedDescription)")
        }
        do {
            try fm.moveItem(at: compiled, to: cached)
        } catch {
            // Another process may have cached it first; otherwise use the compiled copy as is.
            guard fm.fileExists(atPath: cached.path) else { return (compiled, false) }
            try? fm.removeItem(at: compiled)
        }
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        var target = cached
        try? target.setResourceValues(values)
        removeStaleEntries(in: cacheDirectory, keeping: cached, prefix: "\(info.resourceName)-")
        return (cached, false)
        #endif
    }

    /// Deletes cached compilations of older versions of a model.
    private static func removeStaleEntries(in directory: URL, keeping current: URL, prefix: String) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(prefix) && name != current.lastPathComponent {
            try? fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}
#endif

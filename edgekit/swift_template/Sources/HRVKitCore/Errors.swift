import Foundation

/// Everything that can go wrong between beats and a prediction: the package's one error type.
///
/// Bad data never crashes: it surfaces as one of these cases. Failures of reading HealthKit are
/// the HealthKit layer's own (`HealthDataError`, where HealthKit exists); this Foundation-only
/// core knows nothing about where the beats came from.
public enum HRVKitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No gap-free run of `needed` clean beats was found; the longest run had `found`.
    case notEnoughBeats(needed: Int, found: Int)
    /// Every candidate window had more artifacts than allowed (`percent` is the lowest fraction seen).
    case tooManyArtifacts(percent: Double, limit: Double)
    /// Too few hours with a valid RMSSD for the forecaster's input: a model of consecutive hours
    /// (`InputEncoding.hourlyRun`) needs `neededHours` in a row and the longest run had `foundHours`;
    /// a model of hourly slots (`InputEncoding.hourlySlots`) needs `neededHours` of
    /// the last 24 hours with a reading and `foundHours` had one.
    case notEnoughHistory(neededHours: Int, foundHours: Int)
    /// The newest data usable for the result is `age` seconds old, more than the `limit` allowed
    /// (see ``Freshness``).
    case staleData(age: TimeInterval, limit: TimeInterval)
    /// This package bundles no model for the role named (for example `strainClassifier`), and no
    /// other implementation was supplied.
    case modelNotBundled(String)
    /// The model could not be found, compiled or loaded.
    case modelLoadFailed(model: String, reason: String)
    /// The model ran but its output was missing or not usable.
    case predictionFailed(model: String, reason: String)
    /// An input had the wrong length or held non-finite values.
    case invalidInput(String)
    /// The workout has no step with a speed (no route, or none close enough in time),
    /// so the heart-rate-from-activity model has nothing to read.
    case noActivityData

    /// A one-line English description, for logs.
    public var description: String {
        switch self {
        case let .notEnoughBeats(needed, found):
            return "Not enough consecutive clean beats: \(found) of \(needed) needed."
        case let .tooManyArtifacts(percent, limit):
            return "Too many artifacts: \(percent) % of the beats (at most \(limit) % allowed)."
        case let .notEnoughHistory(needed, found):
            return "Not enough hourly HRV history: \(found) usable hours of the \(needed) needed."
        case let .staleData(age, limit):
            return "The newest usable data is \(Self.hours(age)) old (at most \(Self.hours(limit)) allowed)."
        case let .modelNotBundled(role):
            return "No \(role) model is bundled in this package."
        case let .modelLoadFailed(model, reason):
            return "The model \(model) could not be loaded: \(reason)"
        case let .predictionFailed(model, reason):
            return "The model \(model) failed to predict: \(reason)"
        case let .invalidInput(reason):
            return "Invalid input: \(reason)"
        case .noActivityData:
            return "The workout has no step with a speed (no usable route)."
        }
    }
}

extension HRVKitError {
    /// `seconds` as hours with one decimal, for messages ("7.5 h").
    static func hours(_ seconds: TimeInterval) -> String {
        guard seconds.isFinite else { return "\(seconds) s" }
        return "\((seconds / 360).rounded() / 10) h"
    }
}

extension HRVKitError: LocalizedError {
    /// Same text as ``description``.
    public var errorDescription: String? { description }
}

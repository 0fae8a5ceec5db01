import Foundation

/// How old the data behind a result may be.
///
/// The age of a result's data is the time from its newest sample to the moment of the call: the
/// last beat of the strain classifier's window or reading, the end of the last hour of an hourly
/// run (``InputEncoding/hourlyRun``), or the end of the newest hour holding an RMSSD in hourly
/// slots (``InputEncoding/hourlySlots(minPresentHours:)``). A result from older data describes a
/// state that may have passed, so the API refuses it with ``HRVKitError/staleData(age:limit:)``
/// unless the caller allows more.
public enum Freshness: Sendable {
    /// Default limit of the strain assessment: its window's last beat at most 6 hours old
    /// (Apple Watch takes background readings every few hours).
    public static let strainMaxAge: TimeInterval = 6 * 3600
    /// Default limit of the fatigue forecast from an hourly run: its last hour ended at most 2 hours ago.
    public static let forecastMaxAge: TimeInterval = 2 * 3600
    /// Default limit of the fatigue forecast from hourly slots: its newest hour holding an RMSSD
    /// ended at most 24 hours ago. This is the span of the input, so by default a forecast is made
    /// whenever the slots hold a reading (as the model was trained: any reading of the last 24 local
    /// clock hours, the others absent); pass a smaller `maxDataAge` to require newer readings.
    public static let slotsForecastMaxAge: TimeInterval = 24 * 3600

    /// The default limit of results from inputs made with `encoding` (`.infinity` for the
    /// activity grid, whose workouts are compared whatever their age).
    public static func defaultMaxAge(for encoding: InputEncoding) -> TimeInterval {
        switch encoding {
        case .beatWindow, .reading: return strainMaxAge
        case .hourlyRun: return forecastMaxAge
        case .hourlySlots: return slotsForecastMaxAge
        case .activity: return .infinity
        }
    }

    /// Seconds from `newest` (seconds since 1970) to `now`; 0 for a sample in the future
    /// (a clock set back, or the end of the hour that is still running).
    public static func age(newest: TimeInterval, now: Date) -> TimeInterval {
        max(0, now.timeIntervalSince1970 - newest)
    }

    /// The age of data whose newest sample is at `newest` (seconds since 1970), checked against
    /// `maxAge` seconds (`.infinity` accepts any age).
    ///
    /// - Throws: ``HRVKitError/staleData(age:limit:)`` when older than `maxAge`;
    ///   ``HRVKitError/invalidInput(_:)`` for a negative or NaN `maxAge`, or a non-finite `newest`.
    public static func check(newest: TimeInterval, now: Date = Date(), maxAge: TimeInterval) throws -> TimeInterval {
        guard maxAge >= 0 else { throw HRVKitError.invalidInput("the data age limit must be ≥ 0 s, got \(maxAge)") }
        guard newest.isFinite else { throw HRVKitError.invalidInput("the newest sample time is not finite") }
        let age = age(newest: newest, now: now)
        guard age <= maxAge else { throw HRVKitError.staleData(age: age, limit: maxAge) }
        return age
    }
}

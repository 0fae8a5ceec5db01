import Foundation

/// How a model's input is made from the data, as the model was trained (the task spec's declared
/// input in edgekit, docs/data.md).
///
/// ``HRVPipeline`` chooses how to read beats by this value, never by a model's name, so a package
/// answers with whichever models it bundles.
public enum InputEncoding: Sendable, Hashable {
    /// The strain classifier's original input: ``Preprocessing/inputLength`` consecutive clean
    /// RR intervals without a gap (``Preprocessing/latestWindow(from:)``); about two minutes of
    /// beats, which Apple Watch's background readings rarely give.
    case beatWindow
    /// One background reading: its cleaned RR intervals, the newest ``Preprocessing/inputLength``,
    /// then 0 (absent), from a reading of at least `minBeats` clean beats
    /// (``Preprocessing/readingInput(from:minBeats:)``).
    case reading(minBeats: Int)
    /// The fatigue forecaster's original input: ``Preprocessing/inputLength`` consecutive hourly
    /// RMSSD values (at most ``CleaningConstants/maxMissingHours`` missing, never the last)
    /// in UTC clock hours (``Preprocessing/latestHourlyRMSSD(from:)``).
    case hourlyRun
    /// The RMSSD of each of the last ``Preprocessing/inputLength`` local clock hours, 0 for an
    /// hour without a reading, from at least `minPresentHours` present hours
    /// (``Preprocessing/hourlySlotsInput(from:utcOffsetSeconds:at:minPresentHours:)``).
    case hourlySlots(minPresentHours: Int)
    /// A workout grid of speed, grade and context heart rate (the heart-rate predictor's
    /// ``ActivityInput``); not made from beats.
    case activity

    /// A short English name of the encoding, for messages.
    public var name: String {
        switch self {
        case .beatWindow: return "beat window"
        case let .reading(minBeats): return "reading (at least \(minBeats) beats)"
        case .hourlyRun: return "hourly run"
        case let .hourlySlots(minPresentHours): return "hourly slots (at least \(minPresentHours) present hours)"
        case .activity: return "activity grid"
        }
    }
}

/// How a model's input is prepared from beats: the settings the model was trained with.
///
/// The settings of the two bundled roles are ``strainClassifier`` and ``fatigueForecaster``
/// (generated from the build that trained them, with the bundled model's ``encoding``).
public struct Preprocessing: Sendable, Hashable {
    /// Artifact detection and correction method.
    public var method: CleaningMethod
    /// Lower physiological bound (ms).
    public var minRRMs: Double
    /// Upper physiological bound (ms).
    public var maxRRMs: Double
    /// Largest artifact fraction (percent) of a window or an hour.
    public var maxArtifactPercent: Double
    /// Model input length: beats of a window or reading, or hours of a series.
    public var inputLength: Int
    /// How the input is made from beats. A forecaster with ``InputEncoding/beatWindow`` (the
    /// initializer's default, for settings written before encodings existed) reads an
    /// ``InputEncoding/hourlyRun``.
    public var encoding: InputEncoding

    /// Creates preprocessing settings.
    public init(method: CleaningMethod, minRRMs: Double, maxRRMs: Double, maxArtifactPercent: Double, inputLength: Int,
                encoding: InputEncoding = .beatWindow) {
        self.method = method
        self.minRRMs = minRRMs
        self.maxRRMs = maxRRMs
        self.maxArtifactPercent = maxArtifactPercent
        self.inputLength = inputLength
        self.encoding = encoding
    }

    /// Cleans the RR intervals of `beats` with these settings.
    public func clean(_ beats: [Beat]) -> CleaningResult {
        Cleaning.clean(RRSeries(beats: beats), method: method, minRRMs: minRRMs, maxRRMs: maxRRMs)
    }

    /// The most recent gap-free window of ``inputLength`` cleaned RR intervals whose artifact
    /// fraction is within ``maxArtifactPercent``: the strain classifier's input.
    ///
    /// - Returns: the window (ms), its features, and the time of its last beat.
    /// - Throws: ``HRVKitError/notEnoughBeats(needed:found:)`` when no segment is long enough,
    ///   ``HRVKitError/tooManyArtifacts(percent:limit:)`` when every long-enough window is too noisy.
    public func latestWindow(from beats: [Beat]) throws -> (values: [Double], features: HRVFeatures, endTime: TimeInterval) {
        try latestWindow(in: clean(beats).series)
    }

    /// The most recent acceptable window of a cleaned series; see ``latestWindow(from:)``.
    public func latestWindow(in t: RRSeries) throws -> (values: [Double], features: HRVFeatures, endTime: TimeInterval) {
        let n = inputLength
        guard n > 0 else { throw HRVKitError.invalidInput("input length must be positive") }
        let b = t.segmentBounds()
        var csum = [Int](repeating: 0, count: t.count + 1)
        for j in 0..<t.count { csum[j + 1] = csum[j] + (t.flags[j].isArtifact ? 1 : 0) }
        var longest = 0
        var lowest = Double.infinity
        if !t.isEmpty {
            for s in stride(from: b.count - 2, through: 0, by: -1) {
                let lo = b[s], hi = b[s + 1]
                longest = max(longest, hi - lo)
                guard hi - lo >= n else { continue }
                for start in stride(from: hi - n, through: lo, by: -1) {
                    let artifacts = csum[start + n] - csum[start]
                    if Double(artifacts) * 100.0 <= maxArtifactPercent * Double(n) {
                        let values = Array(t.rrMs[start..<(start + n)])
                        return (values, HRVFeatures(rrMs: values), t.timeS[start + n - 1])
                    }
                    lowest = min(lowest, Double(artifacts) * 100.0 / Double(n))
                }
            }
        }
        if longest < n { throw HRVKitError.notEnoughBeats(needed: n, found: longest) }
        throw HRVKitError.tooManyArtifacts(percent: lowest, limit: maxArtifactPercent)
    }

    /// The most recent run of ``inputLength`` hourly RMSSD values of `beats` (at most
    /// ``CleaningConstants/maxMissingHours`` missing, interpolated; the last hour present): the
    /// fatigue forecaster's input.
    ///
    /// - Returns: the values (ms, oldest first) and the end of their last hour (seconds since 1970
    ///   when the beat times are).
    /// - Throws: ``HRVKitError/notEnoughHistory(neededHours:foundHours:)``.
    public func latestHourlyRMSSD(from beats: [Beat]) throws -> (values: [Double], endTime: TimeInterval) {
        let cleaned = clean(beats).series
        guard let hourly = Windowing.hourlyRMSSD(cleaned, maxArtifactPercent: maxArtifactPercent) else {
            throw HRVKitError.notEnoughHistory(neededHours: inputLength, foundHours: 0)
        }
        if let latest = Windowing.latestHourlySeries(hourly, hours: inputLength) {
            return (latest.values, Double(latest.end) * 3600.0)
        }
        var run = 0, best = 0
        for v in hourly.values {
            run = v == nil ? 0 : run + 1
            best = max(best, run)
        }
        throw HRVKitError.notEnoughHistory(neededHours: inputLength, foundHours: best)
    }
}

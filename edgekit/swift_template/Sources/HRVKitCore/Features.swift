import Foundation

/// Time-domain and Poincaré HRV features (Task Force of the ESC and NASPE, 1996), identical to
/// Python's `edgekit.data.features.time_domain`.
///
/// Successive differences are taken only between consecutive intervals of the same segment: a gap
/// never contributes a difference. Undefined values (too few intervals) are `Double.nan`.
public struct HRVFeatures: Sendable, Hashable, Codable {
    /// Intervals used.
    public var beatCount: Int
    /// Mean RR interval (ms).
    public var meanRRMs: Double
    /// Standard deviation of the RR intervals, n - 1 denominator (ms).
    public var sdnnMs: Double
    /// Mean of the instantaneous heart rates 60000 / RR (beats per minute).
    public var meanHRBpm: Double
    /// Root mean square of successive differences (ms).
    public var rmssdMs: Double
    /// Percentage of successive differences larger than 50 ms (by more than
    /// ``CleaningConstants/thresholdEpsilonMs``).
    public var pnn50Percent: Double
    /// Poincaré SD1: sqrt(var(ΔRR) / 2), n - 1 denominator (ms).
    public var sd1Ms: Double
    /// Poincaré SD2: sqrt(2 SDNN² - SD1²) (ms).
    public var sd2Ms: Double

    /// Features of a series (its intervals and segments).
    public init(_ series: RRSeries) {
        self.init(rrMs: series.rrMs, segment: series.segment)
    }

    /// Features of `rrMs`; `segment` (same length) marks gaps, `nil` means one segment.
    public init(rrMs: [Double], segment: [Int]? = nil) {
        let d = Self.successiveDifferences(rrMs, segment)
        let n = rrMs.count
        beatCount = n
        meanRRMs = NumPy.mean(rrMs)
        sdnnMs = n > 1 ? NumPy.variance(rrMs, ddof: 1).squareRoot() : .nan
        meanHRBpm = n > 0 ? NumPy.mean(rrMs.map { 60000.0 / $0 }) : .nan
        rmssdMs = d.isEmpty ? .nan : NumPy.mean(d.map { $0 * $0 }).squareRoot()
        if d.isEmpty {
            pnn50Percent = .nan
        } else {
            let over = d.reduce(0) { $0 + (abs($1) > 50.0 + CleaningConstants.thresholdEpsilonMs ? 1 : 0) }
            pnn50Percent = 100.0 * (Double(over) / Double(d.count))
        }
        if d.count > 1 && n > 1 {
            let sd1 = (NumPy.variance(d, ddof: 1) / 2.0).squareRoot()
            let sd2Squared = 2.0 * NumPy.variance(rrMs, ddof: 1) - sd1 * sd1
            sd1Ms = sd1
            sd2Ms = max(sd2Squared, 0.0).squareRoot()
        } else {
            sd1Ms = .nan
            sd2Ms = .nan
        }
    }

    /// RMSSD (ms) of `rrMs` over differences within segments; NaN without any difference.
    public static func rmssd(rrMs: [Double], segment: [Int]? = nil) -> Double {
        let d = successiveDifferences(rrMs, segment)
        return d.isEmpty ? .nan : NumPy.mean(d.map { $0 * $0 }).squareRoot()
    }

    /// `RR[j] - RR[j-1]` for consecutive intervals of the same segment.
    public static func successiveDifferences(_ rr: [Double], _ segment: [Int]?) -> [Double] {
        guard rr.count > 1 else { return [] }
        var d: [Double] = []
        d.reserveCapacity(rr.count - 1)
        for j in 1..<rr.count {
            if let segment, j < segment.count, segment[j] != segment[j - 1] { continue }
            d.append(rr[j] - rr[j - 1])
        }
        return d
    }
}

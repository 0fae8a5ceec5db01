import Foundation

/// Fixed-length beat windows cut from a cleaned series (Python's `edgekit.data.windows.beat_windows`).
public struct BeatWindows: Sendable, Hashable {
    /// Each window: `beats` consecutive cleaned RR intervals (ms) of one segment.
    public var values: [[Double]]
    /// Segment index (position in ``RRSeries/segmentBounds()``) of each window.
    public var segmentIndex: [Int]
    /// Row of the series where each window starts.
    public var starts: [Int]
    /// Windows left out because their artifact fraction exceeded the limit.
    public var excludedCount: Int
}

/// RMSSD per clock hour (Python's `edgekit.data.windows.hourly_rmssd`, one subject).
public struct HourlyRMSSD: Sendable, Hashable {
    /// Index of the first hour: `floor(time / 3600)` of the earliest beat.
    public var firstHour: Int
    /// RMSSD (ms) of each hour from ``firstHour`` on; `nil` where the hour has too few
    /// differences or too many artifacts.
    public var values: [Double?]

    /// The hour index (`floor(seconds since 1970 / 3600)`) of the last value.
    public var lastHour: Int { firstHour + values.count - 1 }
}

/// Windowing of cleaned series, identical to Python's `edgekit.data.windows`.
public enum Windowing: Sendable {
    /// Windows of `beats` intervals starting at 0, `stride`, 2 `stride`, ... in every segment.
    ///
    /// A window whose artifact fraction (flagged intervals / `beats`, in percent) exceeds
    /// `maxArtifactPercent` is excluded and counted. Windows never span a gap.
    public static func beatWindows(_ t: RRSeries, beats: Int, stride: Int, maxArtifactPercent: Double) -> BeatWindows {
        var result = BeatWindows(values: [], segmentIndex: [], starts: [], excludedCount: 0)
        guard beats > 0, stride > 0, !t.isEmpty else { return result }
        let b = t.segmentBounds()
        var csum = [Int](repeating: 0, count: t.count + 1)
        for j in 0..<t.count { csum[j + 1] = csum[j] + (t.flags[j].isArtifact ? 1 : 0) }
        for s in 0..<(b.count - 1) {
            let len = b[s + 1] - b[s]
            guard len >= beats else { continue }
            let count = (len - beats) / stride + 1
            for k in 0..<count {
                let start = b[s] + k * stride
                let artifacts = csum[start + beats] - csum[start]
                if Double(artifacts) * 100.0 <= maxArtifactPercent * Double(beats) {
                    result.values.append(Array(t.rrMs[start..<(start + beats)]))
                    result.segmentIndex.append(s)
                    result.starts.append(start)
                } else {
                    result.excludedCount += 1
                }
            }
        }
        return result
    }

    /// RMSSD of every clock hour `floor(time / 3600)` from the first to the last beat.
    ///
    /// An hour's RMSSD uses the successive differences of consecutive intervals of the same segment
    /// whose later interval falls in the hour; it needs at least
    /// ``CleaningConstants/minHourDifferences`` differences and an artifact fraction over its
    /// intervals not above `maxArtifactPercent`, otherwise the hour is `nil`.
    public static func hourlyRMSSD(_ t: RRSeries, maxArtifactPercent: Double) -> HourlyRMSSD? {
        hourlyRMSSD(t, maxArtifactPercent: maxArtifactPercent, minDifferences: CleaningConstants.minHourDifferences)
    }

    /// RMSSD of every hour `floor((time + utcOffsetSeconds) / 3600)` (the wearer's local clock hours
    /// when `utcOffsetSeconds` is their UTC offset), an hour needing `minDifferences` differences;
    /// otherwise as ``hourlyRMSSD(_:maxArtifactPercent:)`` (Python's `hourly_rmssd(..., min_diffs,
    /// utc_offset_s)`).
    public static func hourlyRMSSD(_ t: RRSeries, maxArtifactPercent: Double, minDifferences: Int,
                                   utcOffsetSeconds: Double = 0) -> HourlyRMSSD? {
        guard !t.isEmpty, utcOffsetSeconds.isFinite else { return nil }
        var hours: [Int] = []
        hours.reserveCapacity(t.count)
        for time in t.timeS {
            let h = ((utcOffsetSeconds == 0 ? time : time + utcOffsetSeconds) / 3600.0).rounded(.down)
            guard h.isFinite, abs(h) < 1e15 else { return nil }
            hours.append(Int(h))
        }
        guard let h0 = hours.min(), let hMax = hours.max(), hMax - h0 < 10_000_000 else { return nil }
        let nh = hMax - h0 + 1
        var sumD2 = [Double](repeating: 0, count: nh)
        var nD = [Int](repeating: 0, count: nh)
        var nB = [Int](repeating: 0, count: nh)
        var nF = [Double](repeating: 0, count: nh)
        for j in 0..<t.count {
            let hi = hours[j] - h0
            if j > 0 && t.segment[j] == t.segment[j - 1] {
                let d = t.rrMs[j] - t.rrMs[j - 1]
                sumD2[hi] += d * d
                nD[hi] += 1
            }
            nB[hi] += 1
            nF[hi] += t.flags[j].isArtifact ? 1 : 0
        }
        var values = [Double?](repeating: nil, count: nh)
        for h in 0..<nh {
            let ok = nD[h] >= minDifferences
                && nF[h] * 100.0 <= maxArtifactPercent * Double(max(nB[h], 1))
            if ok { values[h] = (sumD2[h] / Double(nD[h])).squareRoot() }
        }
        return HourlyRMSSD(firstHour: h0, values: values)
    }

    /// Every run of `hours` consecutive hourly values that ends at hour index `end` (exclusive,
    /// absolute), advancing by `strideHours` (Python's `hourly_series`).
    ///
    /// A run may miss at most ``CleaningConstants/maxMissingHours`` hours, never its last hour;
    /// missing hours are filled by ``fillMissingHours(_:)``. Other runs are left out.
    public static func hourlySeries(_ hourly: HourlyRMSSD, hours: Int = 24, strideHours: Int = 4) -> [(end: Int, values: [Double])] {
        guard hours > 0, strideHours > 0, hourly.values.count >= hours else { return [] }
        var out: [(end: Int, values: [Double])] = []
        var e = hours
        while e <= hourly.values.count {
            if let values = usableRun(hourly.values[(e - hours)..<e]) {
                out.append((hourly.firstHour + e, values))
            }
            e += strideHours
        }
        return out
    }

    /// The most recent usable run of `hours` hourly values (see ``hourlySeries(_:hours:strideHours:)``):
    /// the model input of the fatigue forecaster.
    public static func latestHourlySeries(_ hourly: HourlyRMSSD, hours: Int = 24) -> (end: Int, values: [Double])? {
        guard hours > 0, hourly.values.count >= hours else { return nil }
        var e = hourly.values.count
        while e >= hours {
            if let values = usableRun(hourly.values[(e - hours)..<e]) {
                return (hourly.firstHour + e, values)
            }
            e -= 1
        }
        return nil
    }

    static func usableRun(_ run: ArraySlice<Double?>) -> [Double]? {
        let missing = run.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        guard let last = run.last, last != nil, missing <= CleaningConstants.maxMissingHours else { return nil }
        return fillMissingHours(Array(run))
    }

    /// Linear interpolation over missing hours in hour index, held constant beyond the first and
    /// last present hour (Python's `fill_missing_hours`). All `nil` gives NaN.
    public static func fillMissingHours(_ values: [Double?]) -> [Double] {
        var xp: [Double] = [], fp: [Double] = []
        for (i, v) in values.enumerated() {
            if let v {
                xp.append(Double(i))
                fp.append(v)
            }
        }
        return values.enumerated().map { i, v in
            if let v { return v }
            return fp.isEmpty ? .nan : NumPy.interp(Double(i), xp, fp)
        }
    }
}

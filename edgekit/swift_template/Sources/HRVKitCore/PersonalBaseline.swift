import Foundation

/// Settings of the personal baseline (rendered from Python's `edgekit.data.baseline`).
public enum BaselineConstants: Sendable {}

/// Which readings of a day make its value (local clock hours, start inclusive, end exclusive).
public enum BaselineWindow: String, Sendable, Hashable, CaseIterable, Codable {
    /// 00:00–06:00: readings during the night (the default; wearable HRV is most reliable asleep).
    case night
    /// 06:00–10:00: readings in the morning.
    case morning
    /// The whole day.
    case all

    /// The window's local hours, `[start, end)`.
    public var hours: (start: Double, end: Double) {
        switch self {
        case .night: return (0, 6)
        case .morning: return (6, 10)
        case .all: return (0, 24)
        }
    }
}

/// Where a value lies against the wearer's normal range.
public enum TrendWord: String, Sendable, Hashable, CaseIterable, Codable {
    /// Below the normal range: lower HRV than usual for this person.
    case below
    /// Inside the normal range (its bounds included).
    case within
    /// Above the normal range.
    case above
}

/// One reading's RMSSD: a background reading, or a one-minute piece of a longer recording.
public struct BaselineReading: Sendable, Hashable, Codable {
    /// Time of the reading's first beat (seconds since 1970).
    public var startTime: TimeInterval
    /// Time of its last beat.
    public var endTime: TimeInterval
    /// RR intervals in the reading.
    public var beatCount: Int
    /// RMSSD (ms).
    public var rmssdMs: Double
    /// Natural log of RMSSD in ms.
    public var lnRMSSD: Double
}

/// The baseline's figures on one local calendar day; `nil` where the data requirement is not met
/// (see ``PersonalBaseline``). ln values are natural logs of RMSSD in milliseconds.
public struct BaselineDay: Sendable, Hashable, Codable {
    /// Local calendar day: days since 1970-01-01.
    public var day: Int
    /// The day's value: the median ln RMSSD of its readings in the window.
    public var lnRMSSD: Double?
    /// Readings that made the day's value.
    public var readingCount: Int
    /// Mean of the daily values of this day and the 6 before (at least 3 of them).
    public var rollingMean7d: Double?
    /// Days with a value in the 7-day window.
    public var daysIn7d: Int
    /// Coefficient of variation (%) of the daily values in the 7-day window.
    public var cv7dPercent: Double?
    /// Smallest worthwhile change: 0.5 × the s.d. of the daily values of the last 60 days.
    public var smallestWorthwhileChange: Double?
    /// Lower bound of the normal range (mean − SWC of the last 60 days).
    public var normalRangeLow: Double?
    /// Upper bound of the normal range (mean + SWC).
    public var normalRangeHigh: Double?
    /// Days with a value in the 60-day window.
    public var daysIn60d: Int
    /// The 7-day mean against the normal range (the chronic trend).
    public var trend: TrendWord?
    /// The day's own value against the normal range (the acute response).
    public var today: TrendWord?

    /// RMSSD (ms) of the day's value.
    public var rmssdMs: Double? { lnRMSSD.map { Foundation.exp($0) } }

    /// The day as a date (midnight UTC of the local calendar day).
    public var date: Date { Date(timeIntervalSince1970: Double(day) * 86400.0) }
}

/// The wearer's own baseline: a label-free readiness result that needs no model (see
/// ``PersonalBaseline``), one ``BaselineDay`` per local calendar day from the first to the last day
/// with a reading.
public struct BaselineResult: Sendable, Hashable, Codable {
    /// The readings that make a day's value.
    public var window: BaselineWindow
    /// The UTC offset that placed the days and hours (seconds east of UTC).
    public var utcOffsetSeconds: Double
    /// Readings found (every window).
    public var readingCount: Int
    /// One record per day, oldest first (empty when no reading falls in the window).
    public var days: [BaselineDay]

    /// The newest day.
    public var latest: BaselineDay? { days.last }

    /// The record of the local day holding `time` (seconds since 1970), if any.
    public func day(at time: TimeInterval) -> BaselineDay? {
        let d = PersonalBaseline.localDay(time, utcOffsetSeconds: utcOffsetSeconds)
        return days.first { $0.day == d }
    }
}

/// The wearer's own baseline from heart-beat readings, identical to Python's `edgekit.data.baseline`
/// (checked against its fixtures within 1e-9).
///
/// Each day's HRV is read against the same person's recent days, as HRV-guided training does:
///
/// - each reading's ln RMSSD: a background reading, or each one-minute piece of a longer
///   recording (Task Force 1996; Plews et al. 2012, *Eur J Appl Physiol* 112:3729);
/// - the day's value: the median of the readings that start in the ``BaselineWindow`` (default
///   night, 00:00–06:00 local: wearable HRV is most reliable asleep, Dudarev et al. 2023,
///   *Sensors* 23:5863);
/// - the 7-day rolling mean and its coefficient of variation (Plews et al. 2012; Plews et al. 2013,
///   *Sports Med* 43:773), given with values on at least 3 of the 7 days (Plews et al. 2014,
///   *Int J Sports Physiol Perform* 9:783);
/// - the smallest worthwhile change, SWC = 0.5 × the between-day s.d. (Buchheit 2014,
///   *Front Physiol* 5:73), and the normal range, mean ± SWC of the last 60 days, given with values
///   on at least 14 of them (HRV4Training's normal values; Vesterinen et al. 2016,
///   *Med Sci Sports Exerc* 48:1347);
/// - ``TrendWord``s: the 7-day mean (``BaselineDay/trend``) and the day's value
///   (``BaselineDay/today``) against the normal range.
public enum PersonalBaseline: Sendable {
    /// Cleaning for the baseline: edgekit's defaults (as `edgekit hrv`) with the baseline's artifact limit.
    public static let preprocessing = Preprocessing(
        method: .kubios, minRRMs: CleaningConstants.minRRMs, maxRRMs: CleaningConstants.maxRRMs,
        maxArtifactPercent: BaselineConstants.maxArtifactPercent, inputLength: 0)

    /// The baseline of a wearer's readings (one array of beats per reading, as
    /// `HealthData.readings(store:from:to:)` gives; times in seconds since 1970).
    ///
    /// - Parameters:
    ///   - readings: the beats of each reading, in time order.
    ///   - utcOffsetSeconds: the wearer's UTC offset, which places days and hours.
    ///   - window: the readings that make a day's value.
    ///   - preprocessing: cleaning and artifact limit (default ``preprocessing``).
    public static func result(readings: [[Beat]], utcOffsetSeconds: Double, window: BaselineWindow = .night,
                              preprocessing: Preprocessing = PersonalBaseline.preprocessing) -> BaselineResult {
        let cleaned = preprocessing.clean(WatchInputs.joinedBeats(readings)).series
        let values = readingValues(cleaned, maxArtifactPercent: preprocessing.maxArtifactPercent)
        return result(readings: values, utcOffsetSeconds: utcOffsetSeconds, window: window)
    }

    /// The baseline of readings already measured (for example from another source).
    public static func result(readings: [BaselineReading], utcOffsetSeconds: Double,
                              window: BaselineWindow = .night) -> BaselineResult {
        let daily = dailyValues(readings, utcOffsetSeconds: utcOffsetSeconds, window: window)
        var out = BaselineResult(window: window, utcOffsetSeconds: utcOffsetSeconds, readingCount: readings.count, days: [])
        guard let daily, let first = readings.map({ localDay($0.startTime, utcOffsetSeconds: utcOffsetSeconds) }).min(),
              let last = readings.map({ localDay($0.startTime, utcOffsetSeconds: utcOffsetSeconds) }).max() else {
            return out
        }
        // every day with a reading gets a record (no value outside the window, its week's figures)
        let start = min(first, daily.firstDay)
        let end = max(last, daily.firstDay + daily.values.count - 1)
        var x = [Double?](repeating: nil, count: end - start + 1)
        var counts = [Int](repeating: 0, count: end - start + 1)
        for (i, v) in daily.values.enumerated() {
            x[daily.firstDay - start + i] = v
            counts[daily.firstDay - start + i] = daily.counts[i]
        }
        out.days = days(x, firstDay: start, counts: counts)
        return out
    }

    /// ln RMSSD of every reading of a cleaned series: runs of segments joined by breaks of at most
    /// `joinGapSeconds` (``WatchInputs/readingUnits(_:joinGapSeconds:)``), cut into pieces of
    /// `readingSeconds` by beat time from the first beat. A piece is a reading with at least
    /// `minBeats` beats, one successive difference and at most `maxArtifactPercent` % artifact beats.
    public static func readingValues(_ t: RRSeries, maxArtifactPercent: Double = BaselineConstants.maxArtifactPercent,
                                     minBeats: Int = CleaningConstants.minReadingBeats,
                                     readingSeconds: Double = BaselineConstants.readingSeconds,
                                     joinGapSeconds: Double = CleaningConstants.readingJoinSeconds) -> [BaselineReading] {
        var out: [BaselineReading] = []
        for unit in WatchInputs.readingUnits(t, joinGapSeconds: joinGapSeconds) {
            let rows = unit.flatMap { Array($0) }
            guard let first = rows.first else { continue }
            let t0 = t.timeS[first]
            let piece = rows.map { ((t.timeS[$0] - t0) / readingSeconds).rounded(.down) }
            var a = 0
            while a < rows.count {
                var e = a + 1
                while e < rows.count && piece[e] == piece[a] { e += 1 }
                var sum = 0.0
                var differences = 0
                var flagged = 0
                for k in a..<e {
                    if t.flags[rows[k]].isArtifact { flagged += 1 }
                    if k > a && t.segment[rows[k]] == t.segment[rows[k - 1]] {
                        let d = t.rrMs[rows[k]] - t.rrMs[rows[k - 1]]
                        sum += d * d
                        differences += 1
                    }
                }
                let n = e - a
                if n >= minBeats && differences > 0 && Double(flagged) * 100.0 <= maxArtifactPercent * Double(n) {
                    let rmssd = (sum / Double(differences)).squareRoot()
                    out.append(BaselineReading(startTime: t.timeS[rows[a]], endTime: t.timeS[rows[e - 1]], beatCount: n,
                                               rmssdMs: rmssd, lnRMSSD: Foundation.log(rmssd)))
                }
                a = e
            }
        }
        return out
    }

    /// The local calendar day (days since 1970-01-01) of `time`.
    public static func localDay(_ time: TimeInterval, utcOffsetSeconds: Double) -> Int {
        let d = ((time + utcOffsetSeconds) / 86400.0).rounded(.down)
        return d.isFinite && abs(d) < 1e12 ? Int(d) : 0
    }

    /// Daily values: per local day the median ln RMSSD of the readings starting in `window`, from
    /// the first to the last such day (`nil` on a day without one); `nil` when there is none.
    public static func dailyValues(_ readings: [BaselineReading], utcOffsetSeconds: Double,
                                   window: BaselineWindow) -> (firstDay: Int, values: [Double?], counts: [Int])? {
        var byDay: [Int: [Double]] = [:]
        let (lo, hi) = window.hours
        for r in readings where r.lnRMSSD.isFinite && r.startTime.isFinite {
            let local = r.startTime + utcOffsetSeconds
            let day = (local / 86400.0).rounded(.down)
            let hour = (local - day * 86400.0) / 3600.0
            guard hour >= lo && hour < hi, abs(day) < 1e12 else { continue }
            byDay[Int(day), default: []].append(r.lnRMSSD)
        }
        guard let first = byDay.keys.min(), let last = byDay.keys.max() else { return nil }
        var values = [Double?](repeating: nil, count: last - first + 1)
        var counts = [Int](repeating: 0, count: last - first + 1)
        for (day, v) in byDay {
            values[day - first] = NumPy.median(v[...])
            counts[day - first] = v.count
        }
        return (first, values, counts)
    }

    /// Every figure per day of a daily series (`nil` = no value that day).
    public static func days(_ x: [Double?], firstDay: Int, counts: [Int]? = nil) -> [BaselineDay] {
        var out: [BaselineDay] = []
        out.reserveCapacity(x.count)
        for i in x.indices {
            let week = window(x, endingAt: i, days: BaselineConstants.rollingDays)
            let range = window(x, endingAt: i, days: BaselineConstants.normalRangeDays)
            let mean7 = rollingMean(week)
            let cv = coefficientOfVariation(week)
            let (low, high, swc) = normalRange(range)
            out.append(BaselineDay(
                day: firstDay + i, lnRMSSD: x[i], readingCount: counts?[i] ?? (x[i] == nil ? 0 : 1),
                rollingMean7d: mean7, daysIn7d: week.count, cv7dPercent: cv, smallestWorthwhileChange: swc,
                normalRangeLow: low, normalRangeHigh: high, daysIn60d: range.count,
                trend: trendWord(mean7, low: low, high: high), today: trendWord(x[i], low: low, high: high)))
        }
        return out
    }

    /// The present values of the `days` days ending with day `i`, oldest first.
    static func window(_ x: [Double?], endingAt i: Int, days: Int) -> [Double] {
        x[max(0, i - days + 1)...i].compactMap { $0.flatMap { $0.isFinite ? $0 : nil } }
    }

    /// The mean of a 7-day window's values, with at least ``BaselineConstants/minRollingDays``.
    public static func rollingMean(_ values: [Double]) -> Double? {
        values.count >= BaselineConstants.minRollingDays ? NumPy.mean(values) : nil
    }

    /// 100 × s.d. (n − 1) / mean of a 7-day window's values, with at least ``BaselineConstants/minRollingDays``.
    public static func coefficientOfVariation(_ values: [Double]) -> Double? {
        guard values.count >= max(BaselineConstants.minRollingDays, 2) else { return nil }
        return 100.0 * NumPy.variance(values, ddof: 1).squareRoot() / NumPy.mean(values)
    }

    /// 0.5 × the s.d. (n − 1) of a baseline's daily values; `nil` with fewer than two.
    public static func smallestWorthwhileChange(_ values: [Double]) -> Double? {
        values.count >= 2 ? BaselineConstants.swcFactor * NumPy.variance(values, ddof: 1).squareRoot() : nil
    }

    /// Mean ± SWC of a 60-day window's values, with at least ``BaselineConstants/minNormalRangeDays``.
    public static func normalRange(_ values: [Double]) -> (low: Double?, high: Double?, swc: Double?) {
        guard values.count >= BaselineConstants.minNormalRangeDays, let swc = smallestWorthwhileChange(values) else {
            return (nil, nil, nil)
        }
        let mean = NumPy.mean(values)
        return (mean - swc, mean + swc, swc)
    }

    /// Where `value` lies against `[low, high]` (bounds count as within); `nil` when any is missing.
    public static func trendWord(_ value: Double?, low: Double?, high: Double?) -> TrendWord? {
        guard let value, let low, let high, value.isFinite, low.isFinite, high.isFinite else { return nil }
        if value < low { return .below }
        if value > high { return .above }
        return .within
    }
}

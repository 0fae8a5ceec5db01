import Foundation

/// Reading windows of a cleaned series (Python's `edgekit.data.windows.reading_windows` at
/// inference, docs/data.md "Reading windows"): one model input per background reading.
public struct ReadingWindows: Sendable, Hashable {
    /// Each input: the reading's sequence (segments joined by one 0), newest `slots` values,
    /// oldest first, then 0 (absent) up to `slots` values.
    public var values: [[Double]]
    /// Row of the series holding each input's first beat.
    public var starts: [Int]
    /// Beats (RR intervals, the joining 0s not counted) of each input.
    public var beatCounts: [Int]
    /// Inputs left out because their artifact fraction exceeded the limit.
    public var excludedCount: Int
    /// Most beats of any reading of the series (whether or not it gave an input).
    public var longestReading: Int
}

/// A model input of the watch models, with what it was made from.
public struct WatchInput: Sendable, Hashable {
    /// The model input (`rr_sequence`): milliseconds, oldest first, 0 = absent.
    public var values: [Double]
    /// Values that are present (beats of a reading, or hours holding an RMSSD).
    public var presentCount: Int
    /// End of the input: the time of its last beat (reading), or the end of its last hour
    /// (hourly slots, seconds since 1970 in UTC when the beat times are).
    public var endTime: TimeInterval
}

/// Inputs of the watch-shaped models (`strain_reading`, `fatigue_slots`), identical to Python's
/// `edgekit.data.windows` reading windows and hourly slots.
public enum WatchInputs: Sendable {
    /// The readings of a cleaned series: runs of consecutive segments in which each segment's first
    /// interval ends at most `joinGapSeconds` after the previous segment's last one (one reading
    /// split by cleaning, or by a dropped beat). Each reading is a list of row ranges.
    public static func readingUnits(_ t: RRSeries,
                                    joinGapSeconds: Double = CleaningConstants.readingJoinSeconds) -> [[Range<Int>]] {
        let b = t.segmentBounds()
        var units: [[Range<Int>]] = []
        guard !t.isEmpty else { return units }
        for s in 0..<(b.count - 1) {
            let a = b[s], e = b[s + 1]
            guard e > a else { continue }
            if let previous = units.last?.last {
                let gap = t.timeS[a] - t.timeS[previous.upperBound - 1]
                if gap >= 0.0 && gap <= joinGapSeconds {
                    units[units.count - 1].append(a..<e)
                    continue
                }
            }
            units.append([a..<e])
        }
        return units
    }

    /// One input of `slots` values per reading with at least `minBeats` beats: the newest
    /// `min(length, slots)` values of its sequence (segments joined by one 0; a leading 0 dropped),
    /// then 0. A reading whose artifact fraction (flagged beats / beats, percent) exceeds
    /// `maxArtifactPercent` gives none and is counted.
    public static func readingWindows(_ t: RRSeries, slots: Int = 128,
                                      minBeats: Int = CleaningConstants.minReadingBeats,
                                      maxArtifactPercent: Double,
                                      joinGapSeconds: Double = CleaningConstants.readingJoinSeconds) -> ReadingWindows {
        var out = ReadingWindows(values: [], starts: [], beatCounts: [], excludedCount: 0, longestReading: 0)
        guard slots > 0 else { return out }
        for unit in readingUnits(t, joinGapSeconds: joinGapSeconds) {
            // the sequence as rows, -1 marking the 0 between segments
            var idx: [Int] = []
            for (i, r) in unit.enumerated() {
                if i > 0 { idx.append(-1) }
                idx.append(contentsOf: r)
            }
            let n = idx.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
            out.longestReading = max(out.longestReading, n)
            guard n >= minBeats else { continue }
            var part = Array(idx[max(0, idx.count - slots)...])
            if let first = part.first, first < 0 { part.removeFirst() }
            let beats = part.filter { $0 >= 0 }
            guard beats.count >= minBeats else { continue }
            let flagged = beats.reduce(0) { $0 + (t.flags[$1].isArtifact ? 1 : 0) }
            guard Double(flagged) * 100.0 <= maxArtifactPercent * Double(beats.count) else {
                out.excludedCount += 1
                continue
            }
            var x = [Double](repeating: 0, count: slots)
            for (k, row) in part.enumerated() where row >= 0 { x[k] = t.rrMs[row] }
            out.values.append(x)
            out.starts.append(beats[0])
            out.beatCounts.append(beats.count)
        }
        return out
    }

    /// The RMSSD of the `hours` hours `[endHour - hours, endHour)`, oldest first, 0 for an hour
    /// without one or outside `hourly` (Python's `hourly_slots`).
    public static func hourlySlots(_ hourly: HourlyRMSSD?, endHour: Int, hours: Int = 24) -> [Double] {
        var x = [Double](repeating: 0, count: max(hours, 0))
        guard let hourly else { return x }
        for i in 0..<x.count {
            let j = endHour - hours + i - hourly.firstHour
            if j >= 0, j < hourly.values.count, let v = hourly.values[j], v.isFinite { x[i] = v }
        }
        return x
    }

    /// The local clock hour `floor((time + utcOffsetSeconds) / 3600)` of `time` (seconds since 1970).
    public static func localHour(_ time: TimeInterval, utcOffsetSeconds: Double) -> Int? {
        let h = ((time + utcOffsetSeconds) / 3600.0).rounded(.down)
        guard h.isFinite, abs(h) < 1e15 else { return nil }
        return Int(h)
    }

    /// HRV features of a reading input (``Preprocessing/readingInput(from:minBeats:)``): its present
    /// values, each run between absent (0) values a segment of its own, so no successive
    /// difference spans the join of two cleaned parts.
    public static func readingFeatures(_ values: [Double]) -> HRVFeatures {
        var rr: [Double] = []
        var segment: [Int] = []
        var current = 0
        for v in values {
            if v > 0 {
                rr.append(v)
                segment.append(current)
            } else {
                current += 1
            }
        }
        return HRVFeatures(rrMs: rr, segment: segment)
    }

    /// The beats of several readings as one recording: each reading's first beat is marked
    /// ``Beat/precededByGap`` so no RR interval spans two readings.
    public static func joinedBeats(_ readings: [[Beat]]) -> [Beat] {
        var out: [Beat] = []
        out.reserveCapacity(readings.reduce(0) { $0 + $1.count })
        for reading in readings {
            for (i, beat) in reading.enumerated() {
                out.append(Beat(time: beat.time, precededByGap: beat.precededByGap || i == 0))
            }
        }
        return out
    }
}

extension Preprocessing {
    /// The strain classifier's input from the beats of one background reading (model type
    /// `strain_reading`): its cleaned RR intervals (parts split by cleaning joined with one 0), the
    /// newest ``inputLength`` values, oldest first, then 0 (absent).
    ///
    /// When cleaning leaves several readings (a break longer than
    /// ``CleaningConstants/readingJoinSeconds``), the newest acceptable one is used.
    /// - Throws: ``HRVKitError/notEnoughBeats(needed:found:)`` when no reading has `minBeats` clean
    ///   beats, ``HRVKitError/tooManyArtifacts(percent:limit:)`` when every long-enough one is too noisy.
    public func readingInput(from beats: [Beat], minBeats: Int = CleaningConstants.minReadingBeats) throws -> WatchInput {
        try readingInput(in: clean(beats).series, minBeats: minBeats)
    }

    /// The newest reading input of a cleaned series; see ``readingInput(from:minBeats:)``.
    public func readingInput(in t: RRSeries, minBeats: Int = CleaningConstants.minReadingBeats) throws -> WatchInput {
        guard inputLength > 0, minBeats > 0 else { throw HRVKitError.invalidInput("input length and minimum beats must be positive") }
        let w = WatchInputs.readingWindows(t, slots: inputLength, minBeats: minBeats, maxArtifactPercent: maxArtifactPercent)
        guard let values = w.values.last, let start = w.starts.last, let count = w.beatCounts.last else {
            if w.longestReading < minBeats || w.excludedCount == 0 {
                throw HRVKitError.notEnoughBeats(needed: minBeats, found: w.longestReading)
            }
            throw HRVKitError.tooManyArtifacts(percent: Self.lowestReadingArtifactPercent(t, minBeats: minBeats, slots: inputLength),
                                               limit: maxArtifactPercent)
        }
        // a reading's segments are consecutive rows: its beats are rows start ..< start + count
        return WatchInput(values: values, presentCount: count, endTime: t.timeS[start + count - 1])
    }

    static func lowestReadingArtifactPercent(_ t: RRSeries, minBeats: Int, slots: Int) -> Double {
        let all = WatchInputs.readingWindows(t, slots: slots, minBeats: minBeats, maxArtifactPercent: 100.0)
        var lowest = Double.infinity
        for (start, count) in zip(all.starts, all.beatCounts) {
            let rows = start..<min(t.count, start + count)
            let flagged = rows.reduce(0) { $0 + (t.flags[$1].isArtifact ? 1 : 0) }
            lowest = min(lowest, Double(flagged) * 100.0 / Double(max(count, 1)))
        }
        return lowest
    }

    /// The fatigue forecaster's input from a week of background readings (model type
    /// `fatigue_slots`): the RMSSD of each of the last ``inputLength`` local clock hours before
    /// `time` (the hours `[e - inputLength, e)`, e = the local hour of `time`), oldest first, 0 for
    /// an hour without one. An hour holds an RMSSD when it has at least
    /// ``CleaningConstants/minSlotDifferences`` within-segment differences and an artifact
    /// fraction within ``maxArtifactPercent``.
    ///
    /// - Parameters:
    ///   - readings: the beats of each reading, in time order (no RR interval spans two readings).
    ///   - utcOffsetSeconds: the wearer's UTC offset (for example `TimeZone.current.secondsFromGMT(for:)`).
    ///   - time: the wake-up time (seconds since 1970).
    ///   - minPresentHours: fewer present hours throw.
    /// - Returns: the input, its present hours, and the end of its last hour (UTC seconds since 1970).
    /// - Throws: ``HRVKitError/notEnoughHistory(neededHours:foundHours:)`` with fewer than
    ///   `minPresentHours` present hours.
    public func hourlySlotsInput(from readings: [[Beat]], utcOffsetSeconds: Double, at time: TimeInterval,
                                 minPresentHours: Int = 1) throws -> WatchInput {
        guard inputLength > 0 else { throw HRVKitError.invalidInput("input length must be positive") }
        guard let end = WatchInputs.localHour(time, utcOffsetSeconds: utcOffsetSeconds), utcOffsetSeconds.isFinite else {
            throw HRVKitError.invalidInput("time and UTC offset must be finite")
        }
        let cleaned = clean(WatchInputs.joinedBeats(readings)).series
        let hourly = Windowing.hourlyRMSSD(cleaned, maxArtifactPercent: maxArtifactPercent,
                                           minDifferences: CleaningConstants.minSlotDifferences,
                                           utcOffsetSeconds: utcOffsetSeconds)
        let values = WatchInputs.hourlySlots(hourly, endHour: end, hours: inputLength)
        let present = values.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        guard present >= minPresentHours else {
            throw HRVKitError.notEnoughHistory(neededHours: minPresentHours, foundHours: present)
        }
        return WatchInput(values: values, presentCount: present, endTime: Double(end) * 3600.0 - utcOffsetSeconds)
    }
}

import Foundation

/// How artifacts are detected and corrected after the physiological bounds.
public enum CleaningMethod: String, Sendable, Hashable, CaseIterable, Codable {
    /// Lipponen & Tarvainen (2019) detection with per-class correction (the Kubios method).
    case kubios
    /// Malik's 20 % rule with interpolation.
    case malik
    /// Physiological bounds only.
    case none
}

/// Constants of the cleaning and windowing rules, shared with Python's data layer
/// (`edgekit.data.clean`, `edgekit.data.windows`); their values are generated into
/// `Constants.swift` at package time.
public enum CleaningConstants: Sendable {}

/// Corrected events per artifact class.
public struct ArtifactCounts: Sendable, Hashable, Codable {
    /// Ectopic (short-long / long-short) pairs interpolated.
    public var ectopic = 0
    /// Intervals split because beats were missed.
    public var missed = 0
    /// Interval pairs merged because of an extra detection.
    public var extra = 0
    /// Isolated long or short intervals interpolated.
    public var longShort = 0
    /// Intervals rejected by Malik's rule.
    public var malik = 0
    /// Intervals next to a peak the detector rejected, interpolated before artifact detection.
    public var detectorRejected = 0

    /// Creates zero counts.
    public init() {}

    /// All corrected events.
    public var total: Int { ectopic + missed + extra + longShort + malik + detectorRejected }
}

/// A cleaned series and what cleaning did.
public struct CleaningResult: Sendable, Hashable {
    /// The cleaned series: out-of-bounds intervals removed, artifacts corrected and flagged.
    public var series: RRSeries
    /// Intervals before cleaning.
    public var inputCount: Int
    /// Intervals removed by the physiological bounds.
    public var outOfBoundsCount: Int
    /// Corrected events per class.
    public var counts: ArtifactCounts
    /// Per segment of ``series``: flagged intervals / intervals, in percent.
    public var segmentArtifactPercent: [Double]
}

/// RR cleaning identical to Python's `edgekit.data.clean` (bounds, then the chosen method).
public enum Cleaning: Sendable {
    /// Cleans `series`: removes intervals above `maxRRMs` (each removal ends the segment), detects
    /// and corrects artifacts with `method`, then removes intervals outside `[minRRMs, maxRRMs]`.
    public static func clean(_ series: RRSeries, method: CleaningMethod = .kubios,
                             minRRMs: Double = CleaningConstants.minRRMs,
                             maxRRMs: Double = CleaningConstants.maxRRMs) -> CleaningResult {
        // Upper bound first; intervals below the lower bound stay for the artifact pass (which
        // merges an extra beat's halves) and are removed afterwards if still short.
        let (bounded, removedLong) = applyBounds(series, minRRMs: Double.leastNonzeroMagnitude,
                                                 maxRRMs: maxRRMs)
        var counts = ArtifactCounts()
        var out = bounded
        // Intervals next to a detector-rejected peak are interpolated (flag kept, counted) first.
        var rejected = 0
        if method != .none {
            let rej = out.flags.map { $0.contains(.detectorRejected) }
            rejected = rej.filter { $0 }.count
            if rejected > 0 { interpolate(&out, rej) }
        }
        switch method {
        case .kubios:
            (out, counts) = correctKubios(out)
        case .malik:
            (out, counts) = correctMalik(out)
        case .none:
            break
        }
        counts.detectorRejected = rejected
        let removedShort: Int
        (out, removedShort) = applyBounds(out, minRRMs: minRRMs, maxRRMs: maxRRMs)
        let removed = removedLong + removedShort
        let b = out.segmentBounds()
        var percent: [Double] = []
        if !out.isEmpty {
            for s in 0..<(b.count - 1) {
                var flagged = 0
                for j in b[s]..<b[s + 1] where out.flags[j].isArtifact { flagged += 1 }
                percent.append(Double(flagged) / Double(b[s + 1] - b[s]) * 100.0)
            }
        }
        return CleaningResult(series: out, inputCount: series.count, outOfBoundsCount: removed,
                              counts: counts, segmentArtifactPercent: percent)
    }

    // MARK: bounds

    /// Removes intervals outside the bounds (or not finite); the beats on both sides of a removed
    /// interval are no longer successive, so segments are split and renumbered 0, 1, 2, ...
    public static func applyBounds(_ t: RRSeries, minRRMs: Double, maxRRMs: Double) -> (RRSeries, Int) {
        let n = t.count
        var bad = [Bool](repeating: false, count: n)
        var nBad = 0
        for j in 0..<n {
            let v = t.rrMs[j]
            // NaN fails both comparisons in NumPy too; it is treated as out of bounds here so a
            // corrupt value can never reach a model.
            let eps = CleaningConstants.thresholdEpsilonMs
            if !(v > 0) || v < minRRMs - eps || v > maxRRMs + eps || !v.isFinite {
                bad[j] = true
                nBad += 1
            }
        }
        if nBad == 0 { return (t, 0) }
        var keys: [Int] = []
        var kept: [Int] = []
        var brk = 0
        for j in 0..<n {
            if bad[j] {
                brk += 1
                continue
            }
            // A new segment after every removed interval: key = segment * (n + 1) + removals so far.
            keys.append(t.segment[j] &* (n + 1) &+ brk)
            kept.append(j)
        }
        let uniq = Array(Set(keys)).sorted()
        var rank: [Int: Int] = [:]
        for (i, k) in uniq.enumerated() { rank[k] = i }
        let out = RRSeries(unchecked: kept.map { t.rrMs[$0] }, kept.map { t.timeS[$0] },
                           keys.map { rank[$0] ?? 0 }, kept.map { t.flags[$0] })
        return (out, nBad)
    }

    // MARK: segment-aware rolling statistics

    static func rowSegmentLimits(_ segment: [Int]) -> (start: [Int], end: [Int]) {
        let b = RRSeries.segmentBounds(segment)
        var start = [Int](repeating: 0, count: segment.count)
        var end = [Int](repeating: 0, count: segment.count)
        if segment.isEmpty { return (start, end) }
        for s in 0..<(b.count - 1) {
            for j in b[s]..<b[s + 1] {
                start[j] = b[s]
                end[j] = b[s + 1]
            }
        }
        return (start, end)
    }

    /// Quantiles over the window `[j - half, j + half]` clipped to row `j`'s segment, ignoring rows
    /// where `valid` is false; NaN where a window holds no valid value.
    ///
    /// The window slides one row at a time, so a sorted copy is kept up to date by one binary
    /// insertion and one removal per row instead of sorting every window.
    static func rollingQuantiles(_ values: [Double], start: [Int], end: [Int], half: Int,
                                 _ qs: [Double], valid: [Bool]? = nil) -> [[Double]] {
        let n = values.count
        var out = [[Double]](repeating: [Double](repeating: .nan, count: n), count: qs.count)
        func isValid(_ i: Int) -> Bool { valid?[i] ?? true }
        var j = 0
        var window: [Double] = []
        window.reserveCapacity(2 * half + 2)
        while j < n {
            let lo = start[j], hi = end[j]
            window.removeAll(keepingCapacity: true)
            for i in lo..<min(lo + half + 1, hi) where isValid(i) {
                insertSorted(&window, values[i])
            }
            for r in lo..<hi {
                if r > lo {
                    let incoming = r + half
                    if incoming < hi && isValid(incoming) { insertSorted(&window, values[incoming]) }
                    let outgoing = r - half - 1
                    if outgoing >= lo && isValid(outgoing) { removeSorted(&window, values[outgoing]) }
                }
                guard !window.isEmpty else { continue }
                for (k, q) in qs.enumerated() {
                    out[k][r] = NumPy.sortedQuantile(window, q)
                }
            }
            j = hi
        }
        return out
    }

    /// First index whose value is not less than `v` (values are sorted and finite).
    private static func lowerBound(_ w: [Double], _ v: Double) -> Int {
        var lo = 0, hi = w.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if w[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private static func insertSorted(_ w: inout [Double], _ v: Double) {
        w.insert(v, at: lowerBound(w, v))
    }

    private static func removeSorted(_ w: inout [Double], _ v: Double) {
        let i = lowerBound(w, v)
        if i < w.count && w[i] == v {
            w.remove(at: i)
        } else if let k = w.firstIndex(where: { $0 == v || ($0.isNaN && v.isNaN) }) {
            w.remove(at: k)  // not reached for finite values; keeps NaN inputs from corrupting the window
        }
    }

    // MARK: Kubios detection (Lipponen & Tarvainen 2019)

    struct Detection {
        var ectopic: [Int] = []
        var missed: [Int] = []
        var missedK: [Int] = []
        var extra: [Int] = []
        var longShort: [Int] = []
    }

    static func detectKubios(_ rr: [Double], _ segment: [Int]) -> Detection {
        typealias K = CleaningConstants
        let n = rr.count
        let (start, end) = rowSegmentLimits(segment)
        var first = [Bool](repeating: false, count: n)
        var drr = [Double](repeating: 0, count: n)
        for j in 0..<n {
            first[j] = j == start[j]
            if j > 0 && !first[j] { drr[j] = rr[j] - rr[j - 1] }
        }
        let absDrr = drr.map { abs($0) }
        let notFirst = first.map { !$0 }
        let q = rollingQuantiles(absDrr, start: start, end: end, half: K.qdHalfWindow, [0.25, 0.75], valid: notFirst)
        var d = [Double](repeating: 0, count: n)
        for j in 0..<n {
            var th1 = K.alpha * (q[1][j] - q[0][j]) / 2.0
            th1 = th1.isNaN ? K.thresholdFloorMs : max(th1, K.thresholdFloorMs)
            d[j] = drr[j] / th1
        }
        func nb(_ arr: [Double], _ k: Int, _ j: Int) -> Double {
            let src = j + k
            guard src >= start[j], src < end[j], !first[src] else { return 0 }
            return arr[src]
        }
        let med = rollingQuantiles(rr, start: start, end: end, half: K.medHalfWindow, [0.5])[0]
        var mrr = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let v = rr[j] - med[j]
            mrr[j] = v < 0 ? 2.0 * v : v
        }
        let qm = rollingQuantiles(mrr.map { abs($0) }, start: start, end: end, half: K.qdHalfWindow, [0.25, 0.75])
        // Per-row subspaces and candidates, exactly as edgekit.data.clean.detect_kubios.
        var m = [Double](repeating: 0, count: n)
        var th2 = [Double](repeating: 0, count: n)
        var s12 = [Double](repeating: 0, count: n)
        var s22 = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let dj = d[j]
            let dm1 = nb(d, -1, j), dp1 = nb(d, 1, j), dp2 = nb(d, 2, j)
            s12[j] = dj > 0 ? max(dm1, dp1) : (dj < 0 ? min(dm1, dp1) : 0.0)
            s22[j] = dj >= 0 ? min(dp1, dp2) : max(dp1, dp2)
            th2[j] = max(K.alpha * (qm[1][j] - qm[0][j]) / 2.0, K.thresholdFloorMs)
            m[j] = mrr[j] / th2[j]
        }
        // Ectopic pattern: a rise (d_j > 1) marks the pair (j-1, j), a drop (d_j < -1) the pair
        // (j, j+1); `ect` is indexed by the pair's second interval, whose two intervals must differ
        // by at least ectopicMinDiff of the local median.
        var ect = [Bool](repeating: false, count: n)
        for j in 0..<n where !first[j] {
            let dj = d[j]
            if dj > 1 && s12[j] < -K.c1 * dj - K.c2 { ect[j] = true }
            if dj < -1 && s12[j] > -K.c1 * dj + K.c2 && j + 1 < end[j] { ect[j + 1] = true }
        }
        for j in 0..<n where ect[j] {
            let prv = max(j - 1, 0)
            if !(abs(rr[j] - rr[prv]) >= K.ectopicMinDiff * med[j]) { ect[j] = false }
        }
        var cand = [Bool](repeating: false, count: n)
        var bigm = [Bool](repeating: false, count: n)
        for j in 0..<n {
            bigm[j] = abs(m[j]) > 3.0
            cand[j] = abs(d[j]) > 1.0 || bigm[j]
        }
        var det = Detection()
        var missedMask = [Bool](repeating: false, count: n)
        var extraMask = [Bool](repeating: false, count: n)
        var kOf = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let dj = d[j]
            let isLong = dj > 1 && s22[j] < -1
            let k = (rr[j] / med[j]).rounded(.toNearestOrEven)
            kOf[j] = k
            let tol = max(th2[j], K.extraTolerance * med[j])
            var missed = cand[j] && (isLong || (bigm[j] && rr[j] > med[j])) && k >= 2
                && abs(rr[j] / max(k, 1) - med[j]) < tol
            let nxt = min(j + 1, n - 1)
            let hasNext = j + 1 < end[j]
            let candNext = hasNext ? cand[nxt] : false
            var extra = (cand[j] || candNext) && hasNext && rr[j] < med[j] && rr[nxt] < med[j]
                && abs(rr[j] + rr[nxt] - med[j]) < tol
            extra = extra && !missed
            let prv = max(j - 1, 0)
            let ectFit = abs(rr[prv] + rr[j] - 2.0 * med[j]) < abs(rr[j] - k * med[j])
            if ect[j] && ectFit { missed = false }
            missedMask[j] = missed
            extraMask[j] = extra
        }
        for j in 0..<n {
            if ect[j] { det.ectopic.append(j) }
            if missedMask[j] {
                det.missed.append(j)
                det.missedK.append(Int(kOf[j]))
            }
            if extraMask[j] { det.extra.append(j) }
            // An isolated long/short interval must also deviate from the local median (|mRR| > 3).
            if cand[j] && bigm[j] && !missedMask[j] && !extraMask[j] && !ect[j] { det.longShort.append(j) }
        }
        return det
    }

    enum EventKind: Int, Comparable {
        case ectopic, extra, missed, longShort
        static func < (a: EventKind, b: EventKind) -> Bool { a.rawValue < b.rawValue }
        var flag: ArtifactFlags {
            switch self {
            case .ectopic: return .ectopic
            case .extra: return .extra
            case .missed: return .missed
            case .longShort: return .longShort
            }
        }
    }

    struct Event {
        var a: Int
        var b: Int
        var kind: EventKind
        var k: Int
    }

    /// Non-overlapping events: extra pairs first, then missed, ectopic pairs, long/short; within a
    /// class left to right; a candidate overlapping or touching an accepted event (the interval just
    /// before or after it) is dropped.
    static func resolve(_ det: Detection, _ n: Int) -> [Event] {
        var covered = [Bool](repeating: false, count: n + 2)
        var events: [Event] = []
        let classes: [(EventKind, [Int], (Int, Int), [Int])] = [
            (.extra, det.extra, (0, 2), []),
            (.missed, det.missed, (0, 1), det.missedK),
            (.ectopic, det.ectopic, (-1, 1), []),
            (.longShort, det.longShort, (0, 1), []),
        ]
        for (kind, idx, span, ks) in classes {
            for (i, j) in idx.enumerated() {
                let a = j + span.0, b = j + span.1
                if (max(a - 1, 0)..<(b + 1)).contains(where: { covered[$0] }) { continue }
                for x in a..<b { covered[x] = true }
                events.append(Event(a: a, b: b, kind: kind, k: ks.isEmpty ? 0 : ks[i]))
            }
        }
        // Python sorts (start, stop, kind name, k) tuples; events never share a start.
        events.sort { ($0.a, $0.b) < ($1.a, $1.b) }
        return events
    }

    /// Applies corrections: merges extras, splits missed beats, then interpolates ectopic and
    /// long/short values.
    static func apply(_ t: RRSeries, _ events: [Event]) -> RRSeries {
        let n = t.count
        if events.isEmpty { return t }
        let rr = t.rrMs
        var keep = [Bool](repeating: true, count: n)
        var newRR = rr
        var newFlags = t.flags
        var interp = [Bool](repeating: false, count: n)
        // inserted beats before original row `pos`: (rr, time, flags)
        var inserts: [Int: [(Double, Double, ArtifactFlags)]] = [:]
        for e in events {
            let f = e.kind.flag
            switch e.kind {
            case .extra:
                newRR[e.a + 1] = rr[e.a] + rr[e.a + 1]
                newFlags[e.a + 1].formUnion(f)
                keep[e.a] = false
            case .missed:
                let part = rr[e.a] / Double(e.k)
                newRR[e.a] = part
                newFlags[e.a].formUnion(f)
                var rows: [(Double, Double, ArtifactFlags)] = []
                for i in 1..<max(e.k, 1) {
                    rows.append((part, t.timeS[e.a] - Double(e.k - i) * part / 1000.0, f.union(.inserted)))
                }
                inserts[e.a, default: []].append(contentsOf: rows)
            case .ectopic, .longShort:
                for x in e.a..<e.b {
                    newFlags[x].formUnion(f)
                    interp[x] = true
                }
            }
        }
        var oRR: [Double] = [], oT: [Double] = [], oSeg: [Int] = [], oF: [ArtifactFlags] = [], oI: [Bool] = []
        for j in 0..<n {
            if let rows = inserts[j] {
                for (v, time, fl) in rows {
                    oRR.append(v)
                    oT.append(time)
                    oSeg.append(t.segment[j])
                    oF.append(fl)
                    oI.append(false)
                }
            }
            guard keep[j] else { continue }
            oRR.append(newRR[j])
            oT.append(t.timeS[j])
            oSeg.append(t.segment[j])
            oF.append(newFlags[j])
            oI.append(interp[j])
        }
        var res = RRSeries(unchecked: oRR, oT, oSeg, oF)
        if oI.contains(true) { interpolate(&res, oI) }
        return res
    }

    /// Replaces masked values by linear interpolation in beat index between the nearest unmasked
    /// beats of the same segment (held constant beyond the first/last unmasked beat).
    static func interpolate(_ t: inout RRSeries, _ mask: [Bool]) {
        let b = t.segmentBounds()
        guard b.count > 1 else { return }
        for s in 0..<(b.count - 1) {
            let lo = b[s], hi = b[s + 1]
            var good: [Double] = [], goodV: [Double] = [], bad: [Int] = []
            for j in lo..<hi {
                if mask[j] { bad.append(j - lo) } else {
                    good.append(Double(j - lo))
                    goodV.append(t.rrMs[j])
                }
            }
            if bad.isEmpty || good.isEmpty { continue }
            for x in bad {
                t.setRR(lo + x, NumPy.interp(Double(x), good, goodV))
            }
        }
    }

    /// Two passes of Kubios detection and correction.
    static func correctKubios(_ table: RRSeries, passes: Int = 2) -> (RRSeries, ArtifactCounts) {
        var counts = ArtifactCounts()
        var cur = table
        for _ in 0..<passes {
            if cur.isEmpty { break }
            let det = detectKubios(cur.rrMs, cur.segment)
            let events = resolve(det, cur.count)
            if events.isEmpty { break }
            for e in events {
                switch e.kind {
                case .ectopic: counts.ectopic += 1
                case .missed: counts.missed += 1
                case .extra: counts.extra += 1
                case .longShort: counts.longShort += 1
                }
            }
            cur = apply(cur, events)
        }
        return (cur, counts)
    }

    /// Malik's rule: an interval differing by more than 20 % from the last accepted one of its
    /// segment is rejected and interpolated.
    static func correctMalik(_ table: RRSeries, fraction: Double = CleaningConstants.malikFraction) -> (RRSeries, ArtifactCounts) {
        var out = table
        let b = table.segmentBounds()
        var rej = [Bool](repeating: false, count: table.count)
        var nRej = 0
        if !table.isEmpty {
            for s in 0..<(b.count - 1) {
                let lo = b[s], hi = b[s + 1]
                let seg = table.rrMs[lo..<hi]
                let med = NumPy.median(seg)
                let eps = CleaningConstants.thresholdEpsilonMs
                var ref = abs(seg[lo] - med) <= fraction * med + eps ? seg[lo] : med
                for i in lo..<hi {
                    let v = table.rrMs[i]
                    if abs(v - ref) > fraction * ref + eps {
                        rej[i] = true
                        nRej += 1
                    } else {
                        ref = v
                    }
                }
            }
        }
        for j in 0..<table.count where rej[j] { out.addFlags(j, .malik) }
        if nRej > 0 { interpolate(&out, rej) }
        var counts = ArtifactCounts()
        counts.malik = nRej
        return (out, counts)
    }
}

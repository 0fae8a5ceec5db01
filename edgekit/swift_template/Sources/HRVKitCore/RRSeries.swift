import Foundation

/// One detected heartbeat: its time and whether beats may be missing just before it.
///
/// HealthKit's heartbeat series report exactly this (`timeIntervalSinceStart` added to the
/// sample's start date, and `precededByGap`).
public struct Beat: Sendable, Hashable, Codable {
    /// Time of the beat in seconds (for example seconds since 1970, or since a recording began).
    public var time: TimeInterval
    /// `true` when one or more beats may be missing immediately before this one; no RR interval
    /// is formed across the gap and a new segment starts.
    public var precededByGap: Bool

    /// Creates a beat at `time` seconds.
    public init(time: TimeInterval, precededByGap: Bool = false) {
        self.time = time
        self.precededByGap = precededByGap
    }
}

/// Per-interval flags set by the reader and by cleaning (the same bits as Python's `edgekit.data.rr.Flag`).
public struct ArtifactFlags: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The peak detector rejected a peak bounding this interval.
    public static let detectorRejected = ArtifactFlags(rawValue: 1)
    /// Outside the physiological bounds; removed (never present in a cleaned series).
    public static let outOfBounds = ArtifactFlags(rawValue: 2)
    /// Part of an ectopic (short-long or long-short) pair; interpolated.
    public static let ectopic = ArtifactFlags(rawValue: 4)
    /// A missed beat: the interval was split in parts.
    public static let missed = ArtifactFlags(rawValue: 8)
    /// An extra beat: the interval is the merge of two detected intervals.
    public static let extra = ArtifactFlags(rawValue: 16)
    /// An isolated long or short interval; interpolated.
    public static let longShort = ArtifactFlags(rawValue: 32)
    /// Rejected by Malik's 20 % rule; interpolated.
    public static let malik = ArtifactFlags(rawValue: 64)
    /// A beat created by correction (a part of a split interval).
    public static let inserted = ArtifactFlags(rawValue: 128)

    /// Every flag that marks an interval as an artifact (``inserted`` alone does not).
    public static let artifacts: ArtifactFlags = [
        .detectorRejected, .outOfBounds, .ectopic, .missed, .extra, .longShort, .malik,
    ]

    /// Whether any artifact flag is set.
    public var isArtifact: Bool { !intersection(.artifacts).isEmpty }
}

/// RR intervals in milliseconds, in time order, split into gap-free segments.
///
/// Column layout mirrors Python's `RRTable` for one subject: interval `j` ends at beat time
/// `timeS[j]`; consecutive intervals with the same `segment` are successive beats.
public struct RRSeries: Sendable, Hashable {
    /// RR intervals (ms).
    public private(set) var rrMs: [Double]
    /// Time of the beat that ends each interval (s).
    public private(set) var timeS: [Double]
    /// Segment number of each interval; a new number after every gap.
    public private(set) var segment: [Int]
    /// Flags of each interval.
    public private(set) var flags: [ArtifactFlags]

    /// Number of intervals.
    public var count: Int { rrMs.count }
    /// Whether the series holds no interval.
    public var isEmpty: Bool { rrMs.isEmpty }

    /// An empty series.
    public init() {
        self.init(unchecked: [], [], [], [])
    }

    /// Creates a series from columns of equal length.
    ///
    /// - Parameters:
    ///   - rrMs: RR intervals in milliseconds.
    ///   - timeS: beat times in seconds; when `nil`, the cumulative sum of the intervals.
    ///   - segment: segment numbers; when `nil`, one segment.
    ///   - flags: per-interval flags; when `nil`, none.
    /// - Throws: ``HRVKitError/invalidInput(_:)`` when the columns differ in length.
    public init(rrMs: [Double], timeS: [Double]? = nil, segment: [Int]? = nil, flags: [ArtifactFlags]? = nil) throws {
        let n = rrMs.count
        var times = timeS ?? []
        if timeS == nil {
            var acc = 0.0
            times.reserveCapacity(n)
            for rr in rrMs {
                acc += rr / 1000.0
                times.append(acc)
            }
        }
        let seg = segment ?? Array(repeating: 0, count: n)
        let fl = flags ?? Array(repeating: [], count: n)
        guard times.count == n, seg.count == n, fl.count == n else {
            throw HRVKitError.invalidInput("RR series columns differ in length")
        }
        self.init(unchecked: rrMs, times, seg, fl)
    }

    init(unchecked rrMs: [Double], _ timeS: [Double], _ segment: [Int], _ flags: [ArtifactFlags]) {
        self.rrMs = rrMs
        self.timeS = timeS
        self.segment = segment
        self.flags = flags
    }

    /// RR intervals between successive beats, honouring gaps.
    ///
    /// Interval `j` is `1000 * (time[j] - time[j-1])` ms and ends at beat `j`. No interval is formed
    /// across a beat with ``Beat/precededByGap`` or across a beat with a non-finite time; each such
    /// break starts a new segment. Intervals that are not positive or are implausibly long are kept
    /// here and removed (splitting the segment) by the physiological bounds of cleaning.
    public init(beats: [Beat]) {
        var rr: [Double] = []
        var times: [Double] = []
        var segs: [Int] = []
        rr.reserveCapacity(beats.count)
        times.reserveCapacity(beats.count)
        segs.reserveCapacity(beats.count)
        var seg = 0
        var previous: Double? = nil
        var breakPending = false
        for beat in beats {
            guard beat.time.isFinite else {
                previous = nil
                breakPending = true
                continue
            }
            if let p = previous, !beat.precededByGap {
                if breakPending && !rr.isEmpty { seg += 1 }
                breakPending = false
                rr.append((beat.time - p) * 1000.0)
                times.append(beat.time)
                segs.append(seg)
            } else if previous != nil || beat.precededByGap {
                breakPending = true
            }
            previous = beat.time
        }
        self.init(unchecked: rr, times, segs, Array(repeating: [], count: rr.count))
    }

    /// Start offset of each segment plus the end: segment `k` is rows `b[k] ..< b[k+1]`.
    public func segmentBounds() -> [Int] {
        Self.segmentBounds(segment)
    }

    static func segmentBounds(_ segment: [Int]) -> [Int] {
        guard !segment.isEmpty else { return [0] }
        var b = [0]
        for j in 1..<segment.count where segment[j] != segment[j - 1] {
            b.append(j)
        }
        b.append(segment.count)
        return b
    }

    /// The rows at `indices`, in that order.
    func take(_ indices: [Int]) -> RRSeries {
        RRSeries(unchecked: indices.map { rrMs[$0] }, indices.map { timeS[$0] },
                 indices.map { segment[$0] }, indices.map { flags[$0] })
    }

    mutating func setRR(_ index: Int, _ value: Double) { rrMs[index] = value }
    mutating func addFlags(_ index: Int, _ value: ArtifactFlags) { flags[index].formUnion(value) }
}

// Workouts on a fixed time grid: the heart-rate-from-activity model's data layer.
//
// A port of edgekit's Python `edgekit.data.workout_grid` (`to_grid`, `windows`) and
// `edgekit.data.workout_examples.with_context`, normative in edgekit's docs/data.md, section
// "Workouts": every step is the same float64 arithmetic in the same order, so the results equal
// Python's to within 1e-9 (the package's tests check this against fixtures Python wrote).

import Foundation

/// Constants of the workout resampling (generated from edgekit's Python data layer,
/// `edgekit.data.workout_grid`): the defaults of ``ResamplingSettings`` and the fixed limits.
public enum WorkoutConstants: Sendable {}

/// One point of a workout route, as a location service reports it (for example a `CLLocation`).
///
/// Absent values are NaN, never a sentinel number.
public struct RoutePoint: Sendable, Hashable {
    /// Seconds since 1970 (UTC).
    public var time: TimeInterval
    /// Latitude in degrees; NaN without a position fix.
    public var latitude: Double
    /// Longitude in degrees; NaN without a position fix.
    public var longitude: Double
    /// Altitude in metres; NaN when absent.
    public var altitude: Double
    /// The device's own speed in m/s; NaN when it gave none (the speed then comes from the positions).
    public var speed: Double

    /// Creates a route point; absent values are NaN.
    public init(time: TimeInterval, latitude: Double, longitude: Double, altitude: Double = .nan, speed: Double = .nan) {
        self.time = time
        self.latitude = latitude
        self.longitude = longitude
        self.altitude = altitude
        self.speed = speed
    }
}

/// One recorded heart-rate value.
public struct HeartRateSample: Sendable, Hashable {
    /// Seconds since 1970 (UTC) of the value (the midpoint of the sample's interval).
    public var time: TimeInterval
    /// Beats per minute.
    public var bpm: Double

    /// Creates a heart-rate sample.
    public init(time: TimeInterval, bpm: Double) {
        self.time = time
        self.bpm = bpm
    }
}

/// A workout as recorded: its interval, its route and its heart rate, each on its own clock.
///
/// The samples need not be sorted, and may hold duplicates and NaN: resampling keeps, per
/// stream, the samples with a finite time and value, in time order, the first of several at the
/// same time.
public struct WorkoutSamples: Sendable, Hashable {
    /// Start of the workout, seconds since 1970.
    public var start: TimeInterval
    /// End of the workout, seconds since 1970.
    public var end: TimeInterval
    /// Route points (positions, altitude, device speed).
    public var route: [RoutePoint]
    /// Recorded heart rate.
    public var heartRate: [HeartRateSample]

    /// Creates a workout record.
    public init(start: TimeInterval, end: TimeInterval, route: [RoutePoint], heartRate: [HeartRateSample]) {
        self.start = start
        self.end = end
        self.route = route
        self.heartRate = heartRate
    }
}

/// How a workout is resampled to its grid (the defaults are the model's training settings).
public struct ResamplingSettings: Sendable, Hashable {
    /// Seconds between grid steps.
    public var stepSeconds: Double
    /// Heart rate is interpolated across gaps up to this long (s), else absent.
    public var maxHeartRateGap: TimeInterval
    /// Route values are interpolated across gaps up to this long (s), else unknown.
    public var maxRouteGap: TimeInterval
    /// Span (s) of the centred difference that turns distance into GPS speed.
    public var speedWindow: TimeInterval
    /// Span (s) of the centred moving average of altitude.
    public var altitudeWindow: TimeInterval
    /// Span (s) of the centred differences of altitude and distance that give the grade.
    public var gradeWindow: TimeInterval

    /// Creates settings; every argument defaults to the training setting (``WorkoutConstants``).
    public init(stepSeconds: Double = WorkoutConstants.stepSeconds,
                maxHeartRateGap: TimeInterval = WorkoutConstants.maxHeartRateGap,
                maxRouteGap: TimeInterval = WorkoutConstants.maxRouteGap,
                speedWindow: TimeInterval = WorkoutConstants.speedWindow,
                altitudeWindow: TimeInterval = WorkoutConstants.altitudeWindow,
                gradeWindow: TimeInterval = WorkoutConstants.gradeWindow) {
        self.stepSeconds = stepSeconds
        self.maxHeartRateGap = maxHeartRateGap
        self.maxRouteGap = maxRouteGap
        self.speedWindow = speedWindow
        self.altitudeWindow = altitudeWindow
        self.gradeWindow = gradeWindow
    }

    /// Steps each side of a centred window of `window` seconds: `max(1, floor(window / (2 step) + 0.5))`.
    public func halfWidth(_ window: TimeInterval) -> Int {
        max(1, Int((window / (2.0 * stepSeconds) + 0.5).rounded(.down)))
    }
}

/// A workout resampled to a fixed time step: the model's time axis.
///
/// Step `k` is at ``start`` + k × ``stepSeconds``. Values are float32 (the model's input type);
/// NaN where unknown: speed and grade without route data close enough, heart rate where no
/// recorded value lies close enough to interpolate (never invented).
public struct WorkoutGrid: Sendable, Hashable {
    /// Time of step 0, seconds since 1970.
    public let start: TimeInterval
    /// Seconds between steps.
    public let stepSeconds: Double
    /// Speed (m/s) per step: the device's where it gave one, else from the positions.
    public let speedMps: [Float]
    /// Grade (rise / run) per step, within ±``WorkoutConstants/gradeLimit``.
    public let grade: [Float]
    /// Recorded heart rate (bpm) per step; NaN = absent.
    public let heartRateBpm: [Float]
    /// Steps whose speed came from the device.
    public let deviceSpeedSteps: Int
    /// Steps whose speed came from the positions.
    public let gpsSpeedSteps: Int

    /// Number of steps.
    public var count: Int { speedMps.count }

    /// Seconds since 1970 of step `k`.
    public func time(ofStep k: Int) -> TimeInterval { start + Double(k) * stepSeconds }

    /// Creates a grid from its arrays (all of one length).
    public init(start: TimeInterval, stepSeconds: Double, speedMps: [Float], grade: [Float], heartRateBpm: [Float],
                deviceSpeedSteps: Int = 0, gpsSpeedSteps: Int = 0) {
        self.start = start
        self.stepSeconds = stepSeconds
        self.speedMps = speedMps
        self.grade = grade
        self.heartRateBpm = heartRateBpm
        self.deviceSpeedSteps = deviceSpeedSteps
        self.gpsSpeedSteps = gpsSpeedSteps
    }

    /// Resamples `samples` to steps `t_k = start + k·step`, `k = 0 ..< T`,
    /// `T = floor((end − start) / step + 1e−9) + 1` (docs/data.md, "Workouts", normative).
    ///
    /// - Distance: the cumulative haversine distance of the positions, read at each step (gaps up
    ///   to ``ResamplingSettings/maxRouteGap``); with fewer than two positions the device speed
    ///   integrated by the trapezoid rule along each run of known steps.
    /// - Speed: the device's where it gave one, else the centred difference of distance over
    ///   ``ResamplingSettings/speedWindow``.
    /// - Grade: altitude smoothed over ``ResamplingSettings/altitudeWindow``, then rise over run
    ///   across ``ResamplingSettings/gradeWindow``; 0 when the run is under
    ///   ``WorkoutConstants/minRunMeters``; clipped to ±``WorkoutConstants/gradeLimit``.
    /// - Heart rate: interpolated, never across a gap longer than
    ///   ``ResamplingSettings/maxHeartRateGap``.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` when the step is not positive, or the end is
    ///   before the start or not finite.
    public init(samples: WorkoutSamples, settings: ResamplingSettings = ResamplingSettings()) throws {
        let step = settings.stepSeconds
        guard step > 0, step.isFinite else {
            throw HRVKitError.invalidInput("the grid step must be positive, got \(step) s")
        }
        let span = samples.end - samples.start
        guard span.isFinite, span >= 0 else {
            throw HRVKitError.invalidInput("the workout ends before it starts, or its times are not finite")
        }
        let stepCount = Int((span / step + 1e-9).rounded(.down)) + 1
        guard stepCount <= 1_000_000 else {
            throw HRVKitError.invalidInput("the workout is too long for a \(step) s grid (\(stepCount) steps)")
        }
        let tk = (0..<stepCount).map { samples.start + Double($0) * step }
        let route = samples.route
        let routeTimes = route.map(\.time)

        // positions: finite time, latitude and longitude; time order; first of equal times
        var positions = route.filter { $0.time.isFinite && $0.latitude.isFinite && $0.longitude.isFinite }
        positions = WorkoutMath.stableSortedUnique(positions, time: \.time)

        let deviceSpeed = WorkoutMath.interpolateGapped(routeTimes, route.map(\.speed), at: tk, maxGap: settings.maxRouteGap)
        var distance: [Double]
        if positions.count >= 2 {
            var cumulative = [Double](repeating: 0, count: positions.count)
            var total = 0.0
            for i in 1..<positions.count {
                total += WorkoutMath.haversineMeters(positions[i - 1].latitude, positions[i - 1].longitude,
                                                     positions[i].latitude, positions[i].longitude)
                cumulative[i] = total
            }
            distance = WorkoutMath.interpolateGapped(positions.map(\.time), cumulative, at: tk, maxGap: settings.maxRouteGap)
        } else {
            distance = WorkoutMath.integrateRuns(deviceSpeed, step: step)
        }
        let (dd, dn) = WorkoutMath.centredDifference(distance, halfWidth: settings.halfWidth(settings.speedWindow))
        var speed = [Double](repeating: .nan, count: stepCount)
        var deviceSteps = 0, gpsSteps = 0
        for k in 0..<stepCount {
            let gps = dn[k] > 0 ? dd[k] / (Double(dn[k]) * step) : Double.nan
            if deviceSpeed[k].isFinite {
                speed[k] = deviceSpeed[k]
                deviceSteps += 1
            } else {
                speed[k] = gps
                if gps.isFinite { gpsSteps += 1 }
            }
        }

        let altitude = WorkoutMath.interpolateGapped(routeTimes, route.map(\.altitude), at: tk, maxGap: settings.maxRouteGap)
        let smoothed = WorkoutMath.centredMean(altitude, halfWidth: settings.halfWidth(settings.altitudeWindow))
        let both = (0..<stepCount).map { smoothed[$0].isFinite && distance[$0].isFinite }
        let hg = settings.halfWidth(settings.gradeWindow)
        let (rise, _) = WorkoutMath.centredDifference((0..<stepCount).map { both[$0] ? smoothed[$0] : .nan }, halfWidth: hg)
        let (run, _) = WorkoutMath.centredDifference((0..<stepCount).map { both[$0] ? distance[$0] : .nan }, halfWidth: hg)
        var grade = [Double](repeating: .nan, count: stepCount)
        for k in 0..<stepCount where both[k] {
            let g = run[k] >= WorkoutConstants.minRunMeters ? rise[k] / run[k] : 0.0
            grade[k] = min(max(g, -WorkoutConstants.gradeLimit), WorkoutConstants.gradeLimit)
        }

        let hr = WorkoutMath.interpolateGapped(samples.heartRate.map(\.time), samples.heartRate.map(\.bpm), at: tk,
                                               maxGap: settings.maxHeartRateGap)
        self.init(start: samples.start, stepSeconds: step, speedMps: speed.map { Float($0) },
                  grade: grade.map { Float($0) }, heartRateBpm: hr.map { Float($0) },
                  deviceSpeedSteps: deviceSteps, gpsSpeedSteps: gpsSteps)
    }

    /// Whether step `k` has a speed (a step the model can read; an unknown grade reads 0).
    public func hasActivity(atStep k: Int) -> Bool {
        speedMps[k].isFinite
    }

    /// Cuts the grid into windows of `steps` steps starting every `stride` steps (default
    /// `steps`: no overlap); see ``WorkoutWindows``.
    public func windows(steps: Int, stride: Int? = nil) throws -> WorkoutWindows {
        try WorkoutWindows(grid: self, steps: steps, stride: stride ?? steps)
    }
}

/// Fixed-length windows of one ``WorkoutGrid``.
///
/// `N = 1` when the grid has at most `steps` steps, else `1 + ceil((T − steps) / stride)`; window
/// i holds grid steps `startStep[i] + j`, `j = 0 ..< steps`; the last window (or the only one of
/// a short grid) is padded past the grid's end. Mask convention (normative): `valid[i][j]` is
/// true iff the step exists and its speed is known (an unknown grade reads 0, flat); where it is
/// false, speed and grade are 0 (a model input never holds NaN). Heart rate is the grid's on existing steps
/// (NaN = absent) and NaN on padding.
public struct WorkoutWindows: Sendable, Hashable {
    /// Steps per window.
    public let steps: Int
    /// Grid index of each window's first step.
    public let startStep: [Int]
    /// Speed (m/s) per window and step, 0 where not valid.
    public let speedMps: [[Float]]
    /// Grade per window and step, 0 where not valid.
    public let grade: [[Float]]
    /// Recorded heart rate (bpm) per window and step, NaN where absent or padding.
    public let heartRateBpm: [[Float]]
    /// Whether each step exists and has a speed.
    public let valid: [[Bool]]

    /// Number of windows.
    public var count: Int { startStep.count }

    /// Cuts `grid` into windows; see the type's description.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` for `steps` or `stride` below 1.
    public init(grid: WorkoutGrid, steps: Int, stride: Int) throws {
        guard steps >= 1, stride >= 1 else {
            throw HRVKitError.invalidInput("window steps and stride must be ≥ 1, got \(steps) and \(stride)")
        }
        let total = grid.count
        let n = total <= steps ? 1 : 1 + (total - steps + stride - 1) / stride
        var starts: [Int] = [], speeds: [[Float]] = [], grades: [[Float]] = [], hrs: [[Float]] = [], valids: [[Bool]] = []
        for i in 0..<n {
            let s = i * stride
            var sp = [Float](repeating: 0, count: steps), gr = sp
            var hr = [Float](repeating: .nan, count: steps)
            var ok = [Bool](repeating: false, count: steps)
            for j in 0..<steps where s + j < total {
                let k = s + j
                hr[j] = grid.heartRateBpm[k]
                if grid.hasActivity(atStep: k) {
                    ok[j] = true
                    sp[j] = grid.speedMps[k]
                    gr[j] = grid.grade[k].isFinite ? grid.grade[k] : 0
                }
            }
            starts.append(s)
            speeds.append(sp)
            grades.append(gr)
            hrs.append(hr)
            valids.append(ok)
        }
        self.steps = steps
        self.startStep = starts
        self.speedMps = speeds
        self.grade = grades
        self.heartRateBpm = hrs
        self.valid = valids
    }

    /// The heart rate of window `i` that a model may see: recorded values on valid steps, NaN elsewhere.
    public func observedHeartRate(_ i: Int) -> [Float] {
        zip(heartRateBpm[i], valid[i]).map { $1 ? $0 : .nan }
    }
}

/// Floating-point kernels of the resampling, each the same arithmetic as edgekit's Python reference.
enum WorkoutMath {
    /// Degrees to radians exactly as NumPy's `np.radians`.
    static func radians(_ degrees: Double) -> Double { degrees * (Double.pi / 180.0) }

    /// Great-circle distance (m) on a sphere of radius ``WorkoutConstants/earthRadiusMeters``.
    static func haversineMeters(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let p1 = radians(lat1), p2 = radians(lat2)
        let dp = p2 - p1
        let dl = radians(lon2) - radians(lon1)
        let s1 = sin(dp / 2.0), s2 = sin(dl / 2.0)
        let a = s1 * s1 + cos(p1) * cos(p2) * (s2 * s2)
        return 2.0 * WorkoutConstants.earthRadiusMeters * asin(min(a, 1.0).squareRoot())
    }

    /// Stable sort by time, keeping the first of several elements with the same time.
    static func stableSortedUnique<T>(_ items: [T], time: (T) -> Double) -> [T] {
        let order = items.indices.sorted { a, b in
            let ta = time(items[a]), tb = time(items[b])
            return ta < tb || (ta == tb && a < b)
        }
        var out: [T] = []
        out.reserveCapacity(items.count)
        var last = -Double.infinity
        for i in order {
            let t = time(items[i])
            if !out.isEmpty && t == last { continue }
            out.append(items[i])
            last = t
        }
        return out
    }

    /// `y` sampled at times `t`, read at times `x`: at a sample's time its value; strictly between
    /// samples at most `maxGap` apart the linear interpolation; elsewhere NaN. Samples with a
    /// non-finite time or value are dropped first (time order, first of equal times).
    static func interpolateGapped(_ t: [Double], _ y: [Double], at x: [Double], maxGap: Double) -> [Double] {
        let pairs = stableSortedUnique(zip(t, y).filter { $0.0.isFinite && $0.1.isFinite }, time: \.0)
        var out = [Double](repeating: .nan, count: x.count)
        guard let lastTime = pairs.last?.0 else { return out }
        let ts = pairs.map(\.0), ys = pairs.map(\.1)
        for (k, xk) in x.enumerated() {
            // i: the last sample at or before xk
            var lo = 0, hi = ts.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ts[mid] <= xk { lo = mid + 1 } else { hi = mid }
            }
            let i = lo - 1
            guard i >= 0, xk <= lastTime else { continue }
            if ts[i] == xk {
                out[k] = ys[i]
                continue
            }
            let t0 = ts[i], t1 = ts[i + 1], y0 = ys[i], y1 = ys[i + 1]
            if t1 - t0 <= maxGap {
                out[k] = y0 + (y1 - y0) * (xk - t0) / (t1 - t0)
            }
        }
        return out
    }

    /// For each index, the first and last index of the run of finite values holding it (-1 outside).
    static func runs(_ v: [Double]) -> (first: [Int], last: [Int]) {
        var first = [Int](repeating: -1, count: v.count), last = first
        var k = 0
        while k < v.count {
            guard v[k].isFinite else {
                k += 1
                continue
            }
            var e = k
            while e + 1 < v.count && v[e + 1].isFinite { e += 1 }
            for j in k...e {
                first[j] = k
                last[j] = e
            }
            k = e + 1
        }
        return (first, last)
    }

    /// `(v[hi] − v[lo], hi − lo)` with `lo = max(k − h, a)`, `hi = min(k + h, b)` inside the run
    /// `[a, b]` holding k; NaN and 0 where `v[k]` is NaN.
    static func centredDifference(_ v: [Double], halfWidth h: Int) -> ([Double], [Int]) {
        let (a, b) = runs(v)
        var d = [Double](repeating: .nan, count: v.count)
        var n = [Int](repeating: 0, count: v.count)
        for k in v.indices where v[k].isFinite {
            let lo = max(k - h, a[k]), hi = min(k + h, b[k])
            d[k] = v[hi] - v[lo]
            n[k] = hi - lo
        }
        return (d, n)
    }

    /// Mean of `v[k−m ... k+m]`, `m = min(h, k − a, b − k)` inside the run `[a, b]` holding k,
    /// summed left to right; NaN where `v[k]` is NaN.
    static func centredMean(_ v: [Double], halfWidth h: Int) -> [Double] {
        let (a, b) = runs(v)
        var out = [Double](repeating: .nan, count: v.count)
        for k in v.indices where v[k].isFinite {
            let m = min(h, min(k - a[k], b[k] - k))
            var s = 0.0
            for j in (k - m)...(k + m) { s += v[j] }
            out[k] = s / Double(2 * m + 1)
        }
        return out
    }

    /// Cumulative trapezoid integral of `v` (per step of `step` seconds), restarting at 0 at each
    /// run of finite values; NaN outside runs.
    static func integrateRuns(_ v: [Double], step: Double) -> [Double] {
        var out = [Double](repeating: .nan, count: v.count)
        var acc: Double?
        for k in v.indices {
            guard v[k].isFinite else {
                acc = nil
                continue
            }
            if let previous = acc {
                acc = previous + step * (v[k - 1] + v[k]) / 2.0
            } else {
                acc = 0.0
            }
            out[k] = acc ?? .nan
        }
        return out
    }
}

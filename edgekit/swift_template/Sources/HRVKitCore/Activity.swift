// The heart-rate-from-activity model's inputs and the comparison of its predictions with the
// recorded heart rate (a port of edgekit's Python `edgekit.tasks.activity.predict_workout`).

import Foundation

/// Settings of the heart-rate-from-activity model: its grid, its window, and how much recorded
/// heart rate it sees as calibration context.
///
/// ``heartRatePredictor`` holds the settings the bundled model was trained with (edgekit's
/// defaults when none is bundled).
public struct ActivitySettings: Sendable, Hashable {
    /// How a workout becomes the model's grid (``ResamplingSettings/stepSeconds`` is the model's step).
    public var resampling: ResamplingSettings
    /// Steps of one model input window.
    public var windowSteps: Int
    /// Default minutes of recorded heart rate, from the start of the workout, given to the model
    /// as calibration context.
    public var contextMinutes: Double

    /// Creates settings.
    public init(resampling: ResamplingSettings = ResamplingSettings(), windowSteps: Int, contextMinutes: Double) {
        self.resampling = resampling
        self.windowSteps = windowSteps
        self.contextMinutes = contextMinutes
    }

    /// Seconds between grid steps.
    public var stepSeconds: Double { resampling.stepSeconds }

    /// Steps of context for `minutes`: `round(minutes · 60 / step)`, ties to even (as edgekit's Python).
    public func contextSteps(minutes: Double) -> Int {
        let steps = (minutes * 60.0 / stepSeconds).rounded(.toNearestOrEven)
        guard steps.isFinite, steps > 0 else { return 0 }
        return Int(min(steps, Double(Int32.max)))
    }
}

/// One input window of the heart-rate-from-activity model, cut from a ``WorkoutGrid``.
///
/// The model reads ``modelInput``: per step speed (m/s), grade (rise / run) and recorded heart
/// rate as calibration context (bpm; 0 = absent). Steps that are not ``valid`` (no speed,
/// or padding past the workout's end) hold speed 0 and grade 0.
public struct ActivityInput: Sendable, Hashable {
    /// Grid index of the window's first step.
    public let startStep: Int
    /// Speed (m/s) per step, 0 where not valid.
    public let speedMps: [Float]
    /// Grade per step, 0 where not valid.
    public let grade: [Float]
    /// Calibration context (bpm) per step, 0 = absent.
    public let contextBpm: [Float]
    /// Whether each step exists in the grid and has a speed.
    public let valid: [Bool]
    /// Recorded heart rate (bpm) on valid steps, NaN elsewhere.
    public let recordedBpm: [Float]

    /// Creates a window; the arrays must have one length.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` when their lengths differ.
    public init(startStep: Int, speedMps: [Float], grade: [Float], contextBpm: [Float], valid: [Bool]? = nil,
                recordedBpm: [Float]? = nil) throws {
        let n = speedMps.count
        let mask = valid ?? [Bool](repeating: true, count: n)
        let recorded = recordedBpm ?? [Float](repeating: .nan, count: n)
        guard grade.count == n, contextBpm.count == n, mask.count == n, recorded.count == n else {
            throw HRVKitError.invalidInput("activity input arrays differ in length")
        }
        self.startStep = startStep
        self.speedMps = speedMps
        self.grade = grade
        self.contextBpm = contextBpm
        self.valid = mask
        self.recordedBpm = recorded
    }

    /// Steps of the window.
    public var steps: Int { speedMps.count }

    /// The model input `(1, steps, 3)` in row-major order: speed, grade, context of step 0, then step 1, …
    public var modelInput: [Float] {
        var values: [Float] = []
        values.reserveCapacity(3 * steps)
        for k in 0..<steps {
            values.append(speedMps[k])
            values.append(grade[k])
            values.append(contextBpm[k])
        }
        return values
    }

    /// The context channel: `heartRateBpm` in the first `contextSteps` steps where finite, else 0 (absent).
    public static func context(_ heartRateBpm: [Float], contextSteps: Int) -> [Float] {
        var context = [Float](repeating: 0, count: heartRateBpm.count)
        for k in 0..<min(max(contextSteps, 0), heartRateBpm.count) where heartRateBpm[k].isFinite {
            context[k] = heartRateBpm[k]
        }
        return context
    }

    /// The inputs that cover a whole workout: non-overlapping windows of `windowSteps` steps (the
    /// last padded), with the recorded heart rate of the workout's first `contextSteps` steps as
    /// context (in the first window, and in later ones when the context is longer than a window).
    /// The model reads them in order, each from the state the previous one ended with
    /// (``predictRun(_:from:predict:)``): one run, however long.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` for `windowSteps` below 1.
    public static func inputs(for grid: WorkoutGrid, windowSteps: Int, contextSteps: Int) throws -> [ActivityInput] {
        let windows = try grid.windows(steps: windowSteps)
        return try (0..<windows.count).map { i in
            let observed = windows.observedHeartRate(i)
            let first = max(0, min(windowSteps, contextSteps - i * windowSteps))
            return try ActivityInput(startStep: windows.startStep[i], speedMps: windows.speedMps[i], grade: windows.grade[i],
                                     contextBpm: context(observed, contextSteps: first), valid: windows.valid[i],
                                     recordedBpm: observed)
        }
    }
}

/// What the heart-rate-from-activity model knows of the runner after a window of a run (its
/// recurrent state: the LSTM's memory and the calibration from the context minutes), handed to the
/// run's next window so that a run longer than one window is predicted as one run.
///
/// ``start`` (no values) is the state at the start of a run: the model's zeros.
public struct ActivityState: Sendable, Hashable {
    /// The state's values (the model's `activity_state_out`), empty at the start of a run.
    public var values: [Float]

    /// A state from the values a model returned.
    public init(values: [Float]) {
        self.values = values
    }

    /// The start of a run.
    public static let start = ActivityState(values: [])

    /// Whether this is the start of a run.
    public var isStart: Bool { values.isEmpty }
}

/// The model's output for one window: heart rate per step and the state after the window.
public struct ActivityPrediction: Sendable, Hashable {
    /// Heart rate (bpm) at every step of the window.
    public var heartRateBpm: [Double]
    /// The state to give the run's next window.
    public var state: ActivityState

    /// Creates a prediction.
    public init(heartRateBpm: [Double], state: ActivityState) {
        self.heartRateBpm = heartRateBpm
        self.state = state
    }
}

extension ActivityInput {
    /// Predicts a whole run window after window, each starting from the state the previous one
    /// ended with (``ActivityState/start`` for the first): the same as reading the run as one
    /// sequence. `predict` is one window's prediction (a model's, or a test double's).
    public static func predictRun(_ inputs: [ActivityInput], from state: ActivityState = .start,
                                  predict: (ActivityInput, ActivityState) async throws -> ActivityPrediction)
        async rethrows -> [ActivityPrediction] {
        var out: [ActivityPrediction] = []
        out.reserveCapacity(inputs.count)
        var current = state
        for input in inputs {
            let prediction = try await predict(input, current)
            out.append(prediction)
            current = prediction.state
        }
        return out
    }
}

/// Heart rate the model expects from a workout's pace and grade, next to the recorded one.
///
/// A step is *scored* when it has a prediction and a recorded value and lies after the context
/// (the model saw the recorded heart rate of the context steps). ``meanDifferenceBpm`` is the mean
/// of recorded − expected over the scored steps: positive when the heart worked harder than this
/// pace predicts for the runner (heat, fatigue, illness), negative when it worked less.
public struct HeartRateComparison: Sendable, Hashable {
    /// One grid step.
    public struct Step: Sendable, Hashable {
        /// Time of the step.
        public var time: Date
        /// The model's heart rate (bpm); `nil` where the step has no speed.
        public var expectedBpm: Double?
        /// The recorded heart rate (bpm), `nil` where absent.
        public var recordedBpm: Double?
        /// Whether the step is in the calibration context.
        public var isContext: Bool
        /// Whether the step counts in the summary.
        public var isScored: Bool

        /// Creates a step.
        public init(time: Date, expectedBpm: Double?, recordedBpm: Double?, isContext: Bool, isScored: Bool) {
            self.time = time
            self.expectedBpm = expectedBpm
            self.recordedBpm = recordedBpm
            self.isContext = isContext
            self.isScored = isScored
        }
    }

    /// Every step of the workout's grid, in time order.
    public let steps: [Step]
    /// Seconds between steps.
    public let stepSeconds: Double
    /// Steps of calibration context at the start.
    public let contextSteps: Int
    /// Number of scored steps.
    public let scoredStepCount: Int
    /// Mean of recorded − expected heart rate (bpm) over the scored steps; `nil` without any.
    public let meanDifferenceBpm: Double?
    /// Mean absolute difference (bpm) over the scored steps; `nil` without any.
    public let meanAbsoluteErrorBpm: Double?

    /// Compares `predictions` (one array per input, at least as long as its window) with the grid's
    /// recorded heart rate.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` when there is not one prediction per input or a
    ///   prediction is shorter than its window.
    public init(grid: WorkoutGrid, inputs: [ActivityInput], predictions: [[Double]], contextSteps: Int) throws {
        guard inputs.count == predictions.count else {
            throw HRVKitError.invalidInput("\(predictions.count) predictions for \(inputs.count) inputs")
        }
        var expected = [Double](repeating: .nan, count: grid.count)
        for (input, prediction) in zip(inputs, predictions) {
            guard prediction.count >= input.steps else {
                throw HRVKitError.invalidInput("a prediction has \(prediction.count) steps, its window \(input.steps)")
            }
            for j in 0..<input.steps where input.startStep + j < grid.count && input.valid[j] {
                expected[input.startStep + j] = prediction[j]
            }
        }
        var out: [Step] = []
        out.reserveCapacity(grid.count)
        var differences: [Double] = [], absolute: [Double] = []
        for k in 0..<grid.count {
            let recorded = Double(grid.heartRateBpm[k])
            let scored = recorded.isFinite && expected[k].isFinite && k >= contextSteps
            if scored {
                differences.append(recorded - expected[k])
                absolute.append(abs(expected[k] - recorded))
            }
            out.append(Step(time: Date(timeIntervalSince1970: grid.time(ofStep: k)),
                            expectedBpm: expected[k].isFinite ? expected[k] : nil,
                            recordedBpm: recorded.isFinite ? recorded : nil,
                            isContext: k < contextSteps, isScored: scored))
        }
        self.steps = out
        self.stepSeconds = grid.stepSeconds
        self.contextSteps = contextSteps
        self.scoredStepCount = differences.count
        self.meanDifferenceBpm = differences.isEmpty ? nil : NumPy.mean(differences)
        self.meanAbsoluteErrorBpm = absolute.isEmpty ? nil : NumPy.mean(absolute)
    }

    /// A one-line English summary, for example "HR 7 BPM above what this pace predicts for you".
    public var summary: String {
        guard let d = meanDifferenceBpm else {
            return "No recorded heart rate to compare with what this pace predicts for you."
        }
        let bpm = Int(abs(d).rounded())
        if bpm == 0 { return "HR matches what this pace predicts for you" }
        return "HR \(bpm) BPM \(d > 0 ? "above" : "below") what this pace predicts for you"
    }
}

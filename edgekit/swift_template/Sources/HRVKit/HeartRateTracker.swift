import Foundation

/// The heart rate a runner's pace and grade predict, kept up to date during a workout.
///
/// Call ``update(samples:)`` with the workout's samples so far (all of them, each time: from a
/// live `HKWorkoutSession`/`HKLiveWorkoutBuilder`, say) as often as you like. The tracker resamples
/// them to the predictor's grid and predicts only the windows whose input changed since the last
/// update — normally the current, growing window — each from the state the window before it ended
/// with. The result is the same as ``HRVPipeline/expectedHeartRate(samples:contextMinutes:)`` of
/// the same samples: one run, the context's calibration carried to the end.
///
/// ```swift
/// let tracker = try HRVPipeline.shared.heartRateTracker()
/// for await samples in workoutSamples {          // your live workout's samples so far
///     let comparison = try await tracker.update(samples: samples)
///     show(comparison.steps.last?.expectedBpm, comparison.summary)
/// }
/// ```
public actor WorkoutHeartRateTracker {
    /// The predictor the tracker runs.
    public nonisolated let predictor: any HeartRatePredicting
    /// Minutes of recorded heart rate, from the start, given as calibration context.
    public nonisolated let contextMinutes: Double

    private struct Done {
        var modelInput: [Float]  // what the model read (never NaN), so unchanged inputs compare equal
        var prediction: ActivityPrediction
    }

    private var done: [Done] = []

    /// A tracker running `predictor` with `contextMinutes` of context (default: its settings').
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` for a negative or non-finite `contextMinutes`.
    public init(predictor: any HeartRatePredicting, contextMinutes: Double? = nil) throws {
        let minutes = contextMinutes ?? predictor.settings.contextMinutes
        guard minutes.isFinite, minutes >= 0 else {
            throw HRVKitError.invalidInput("context minutes must be finite and ≥ 0, got \(minutes)")
        }
        self.predictor = predictor
        self.contextMinutes = minutes
    }

    /// Windows predicted since the tracker was made (each update predicts the windows that changed).
    public private(set) var windowsPredicted = 0

    /// The comparison of the workout so far.
    ///
    /// - Throws: ``HRVKitError/invalidInput(_:)`` (bad times), ``HRVKitError/noActivityData`` (no step
    ///   with a speed yet), and the predictor's errors.
    public func update(samples: WorkoutSamples) async throws -> HeartRateComparison {
        let settings = predictor.settings
        let grid = try WorkoutGrid(samples: samples, settings: settings.resampling)
        guard (0..<grid.count).contains(where: { grid.hasActivity(atStep: $0) }) else {
            throw HRVKitError.noActivityData
        }
        let contextSteps = settings.contextSteps(minutes: contextMinutes)
        let inputs = try ActivityInput.inputs(for: grid, windowSteps: settings.windowSteps, contextSteps: contextSteps)
        var keep = 0  // windows whose input is unchanged keep their prediction (and the state after them)
        while keep < min(done.count, inputs.count) && done[keep].modelInput == inputs[keep].modelInput { keep += 1 }
        done.removeLast(done.count - keep)
        var state = done.last?.prediction.state ?? .start
        for input in inputs[keep...] {
            let prediction = try await predictor.predictHeartRate(input, state: state)
            windowsPredicted += 1
            done.append(Done(modelInput: input.modelInput, prediction: prediction))
            state = prediction.state
        }
        return try HeartRateComparison(grid: grid, inputs: inputs, predictions: done.map(\.prediction.heartRateBpm),
                                       contextSteps: contextSteps)
    }

    /// Forgets the workout: the next update starts a new one.
    public func reset() {
        done = []
    }
}

import Foundation

/// Fatigue zone of a 0–100 fatigue score (100 = fully recovered).
public enum FatigueZone: String, Sendable, Hashable, CaseIterable, Codable {
    /// Score of at least ``greenMinimum``.
    case green
    /// Score from ``yellowMinimum`` up to (not including) ``greenMinimum``.
    case yellow
    /// Score below ``yellowMinimum`` (also a non-finite score).
    case red

    /// The zone of `score` (the same rule as Python's `edgekit.zones.zone_of`).
    public init(score: Double) {
        if score >= Self.greenMinimum {
            self = .green
        } else if score >= Self.yellowMinimum {
            self = .yellow
        } else {
            self = .red
        }
    }
}

/// The strain classifier's verdict on one window of beats.
public struct StrainAssessment: Sendable, Hashable {
    /// The most probable class.
    public var label: StrainLabel
    /// Probability of every class (they sum to about 1).
    public var probabilities: [StrainLabel: Double]
    /// HRV features of the window the model saw.
    public var features: HRVFeatures?
    /// Time of the last beat of the window (the newest sample the model saw), when known.
    public var windowEnd: Date?
    /// Seconds from ``windowEnd`` to the assessment, when known (see ``Freshness``).
    public var dataAge: TimeInterval?

    /// Probability of ``label``.
    public var confidence: Double { probabilities[label] ?? 0 }

    /// Creates an assessment with an explicit label.
    public init(label: StrainLabel, probabilities: [StrainLabel: Double], features: HRVFeatures? = nil, windowEnd: Date? = nil,
                dataAge: TimeInterval? = nil) {
        self.label = label
        self.probabilities = probabilities
        self.features = features
        self.windowEnd = windowEnd
        self.dataAge = dataAge
    }

    /// Creates an assessment labelled with the most probable class (the first in
    /// ``StrainLabel/allCases`` order on a tie).
    public init(probabilities: [StrainLabel: Double], features: HRVFeatures? = nil, windowEnd: Date? = nil,
                dataAge: TimeInterval? = nil) {
        var best = StrainLabel.allCases[0]
        var bestP = -Double.infinity
        for label in StrainLabel.allCases {
            let p = probabilities[label] ?? 0
            if p > bestP {
                best = label
                bestP = p
            }
        }
        self.init(label: best, probabilities: probabilities, features: features, windowEnd: windowEnd, dataAge: dataAge)
    }
}

/// The fatigue forecaster's prediction for the next 24 hours.
public struct FatigueForecast: Sendable, Hashable {
    /// Fatigue score 0–100 (100 = fully recovered).
    public var score: Double
    /// Zone of ``score``.
    public var zone: FatigueZone
    /// The hourly RMSSD values (ms, oldest first) the model saw.
    public var hourlyRMSSD: [Double]
    /// End of the last hour of the input (the newest data the model saw), when known.
    public var inputEnd: Date?
    /// Seconds from the newest data the model saw to the forecast, when known: from ``inputEnd``
    /// for an hourly run (0 while that hour is still running), from the end of the newest hour
    /// holding an RMSSD for hourly slots (see ``Freshness``).
    public var dataAge: TimeInterval?

    /// Creates a forecast; the zone follows from the score.
    public init(score: Double, hourlyRMSSD: [Double] = [], inputEnd: Date? = nil, dataAge: TimeInterval? = nil) {
        self.score = score
        self.zone = FatigueZone(score: score)
        self.hourlyRMSSD = hourlyRMSSD
        self.inputEnd = inputEnd
        self.dataAge = dataAge
    }
}

/// What one run of a probe saw of one target.
///
/// A failing target is a result, not an error: probes return ``Outcome/failed`` for it. ``Outcome/unknown``
/// is for the probe's own trouble (it could not look: bad parameters, no permission, timeout), and it never
/// counts as a failure.
public struct Observation: Sendable, Hashable, Codable {
    /// The three answers a probe can give.
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        case passed
        case failed
        case unknown
    }

    /// The answer.
    public var outcome: Outcome
    /// One line for a person: what was seen, or why the probe could not tell.
    public var message: String
    /// Measured values (latency, bytes available, temperature...), keyed by a short name with its unit.
    public var values: [String: Double]
    /// How long the probe took, in seconds; filled in by the scheduler.
    public var duration: Double

    public init(outcome: Outcome, message: String, values: [String: Double] = [:], duration: Double = 0) {
        self.outcome = outcome
        self.message = message
        self.values = values
        self.duration = duration
    }

    /// The target is healthy.
    public static func passed(_ message: String, values: [String: Double] = [:]) -> Observation {
        Observation(outcome: .passed, message: message, values: values)
    }

    /// The target is unhealthy: this counts toward `consecutive_failures`.
    public static func failed(_ message: String, values: [String: Double] = [:]) -> Observation {
        Observation(outcome: .failed, message: message, values: values)
    }

    /// The probe could not tell (its own trouble, or a suppression window): never a failure.
    public static func unknown(_ message: String, values: [String: Double] = [:]) -> Observation {
        Observation(outcome: .unknown, message: message, values: values)
    }
}

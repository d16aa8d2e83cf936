import HealthCore

/// `noop`: always passes without looking at anything, so benchmarks and plumbing tests measure hive-health itself.
public struct NoopProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "noop", category: .instance, targets: [.node, .instance, .volume],
        summary: "always passes; for benchmarks and plumbing tests")

    public init(environment: ProbeEnvironment) {}

    public func observe(_ request: ProbeRequest) async -> Observation {
        .passed("no-op")
    }

    /// Always answers inline: a no-op needs no task of its own.
    public func observeNow(_ request: ProbeRequest) -> Observation? {
        .passed("no-op")
    }
}

import HealthCore

/// Placeholder: replaced by the real host.meminfo probe.
public struct MemInfoProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "host.meminfo", category: .system, targets: [.node], summary: "MemAvailable vs threshold")
    public init(environment: ProbeEnvironment) {}
    public func observe(_ request: ProbeRequest) async -> Observation { .unknown("not yet") }
}

import Foundation
import HealthCore

/// `stub.file`: fails while a flag file exists, passes otherwise. For benchmarks and multi-node tests only (a
/// transition on demand at the cost of one `stat`); it checks nothing about a node or an instance, so no shipped
/// check uses it.
///
/// `path` is usually templated, e.g. `/run/bench/fail/{{instance.id}}`, and is taken as it is (not under
/// `host_root`).
public struct StubFileProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "stub.file", category: .instance, targets: [.node, .instance, .volume],
        parameters: [
            ParameterSpec(
                "path", .string, required: true,
                doc: "The flag file: the check fails while it exists (templates like {{instance.id}} allowed).")
        ],
        summary: "benchmarks and tests only: fails while a flag file exists, passes otherwise")

    public init(environment: ProbeEnvironment) {}

    public func observe(_ request: ProbeRequest) async -> Observation {
        guard let path = request.parameters.string("path"), !path.isEmpty else { return .unknown("no path") }
        var info = stat()
        return stat(path, &info) == 0 ? .failed("\(path) exists") : .passed("no \(path)")
    }
}

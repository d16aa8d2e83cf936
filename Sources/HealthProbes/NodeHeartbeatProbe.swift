import Foundation
import HealthCore
import ProbeKit

/// `node.heartbeat`: the age of a node's heartbeat in Hive's `<prefix>-cluster-state` KV bucket
/// (`heartbeat.<node>`, `{"node": ..., "timestamp": RFC 3339}`, written every 10 s by each Hive daemon).
///
/// Older than `max_age` (or missing) is failed: as a node-level system check, it makes system status impaired for
/// every instance on the node. A record that is not JSON or has no valid timestamp is unknown, with the reason.
/// Without NATS there is nothing to read: unknown.
public struct NodeHeartbeatProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "node.heartbeat", category: .system, targets: [.node],
        parameters: [
            ParameterSpec(
                "node", .string, default: .string("{{node.name}}"),
                doc: "The node whose heartbeat is read (key heartbeat.<node>)."),
            ParameterSpec(
                "bucket", .string, default: .string(""),
                doc: "The KV bucket; empty means <prefix>-cluster-state ([health.nats] prefix)."),
            ParameterSpec(
                "max_age", .duration, default: .duration(.seconds(30)),
                doc: "Failed when the heartbeat is older than this."),
        ],
        requiresNATS: true,
        summary: "age of the node's heartbeat in Hive's cluster-state KV bucket vs a maximum (needs NATS)")

    private let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) {
        self.environment = environment
    }

    public func observe(_ request: ProbeRequest) async -> Observation {
        let parameters = CheckParameters(
            request, descriptor: Self.descriptor, runtimeDirectory: environment.runtimeDirectory)
        let node: String
        let bucket: String
        let maxAge: Duration
        do {
            node = try parameters.string("node") ?? request.node.name
            let configured = try parameters.string("bucket") ?? ""
            bucket = configured.isEmpty ? "\(environment.bucketPrefix)-cluster-state" : configured
            maxAge = try parameters.duration("max_age") ?? .seconds(30)
        } catch {
            return .unknown("\(error)")
        }
        guard let reader = environment.keyValues else {
            return .unknown("no NATS configured: cannot read \(bucket) heartbeat.\(node)")
        }
        let value: [UInt8]?
        do {
            value = try await reader.value(bucket: bucket, key: "heartbeat.\(node)")
        } catch {
            return .unknown("cannot read \(bucket) heartbeat.\(node): \(error)")
        }
        guard let value else { return .failed("no heartbeat from \(node) in \(bucket)") }
        let timestamp: Date
        switch Self.timestamp(of: value) {
        case .failure(let problem): return .unknown("heartbeat.\(node): \(problem.reason)")
        case .success(let date): timestamp = date
        }
        let age = Date().timeIntervalSince(timestamp)
        let limit = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
        let values = ["heartbeat_age_seconds": age]
        if age > limit {
            return .failed(
                "\(node) silent for \(Int(age)) s (last heartbeat \(timestamp), limit \(maxAge))", values: values)
        }
        return .passed("\(node) heartbeat \(String(format: "%.1f", age)) s ago", values: values)
    }

    /// The `timestamp` of a heartbeat record (``NodeHeartbeat``).
    static func timestamp(of record: [UInt8]) -> Result<Date, NodeHeartbeat.DecodeError> {
        Result { () throws(NodeHeartbeat.DecodeError) in try NodeHeartbeat.decode(record).timestamp }
    }
}

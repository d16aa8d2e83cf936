/// Every subject, stream and bucket name hive-health uses on NATS, from one prefix (`hive` or `spinifex`).
public struct HealthSubjects: Sendable, Hashable {
    public var prefix: String

    public init(prefix: String = "hive") { self.prefix = prefix }

    /// Per-instance status: after a change, and every instance in a snapshot each interval.
    public var status: String { "\(prefix).health.status" }
    /// One message per transition, captured by ``eventStream``.
    public var events: String { "\(prefix).health.events" }
    /// CloudWatch-shaped datapoints.
    public var metrics: String { "\(prefix).health.metrics" }
    /// The JetStream stream holding ``events`` (de-duplicated by `Nats-Msg-Id`).
    public var eventStream: String { "\(prefix.uppercased())_HEALTH_EVENTS" }
    /// hive-health's KV bucket: `instance.<id>`, `node.<node>`, `state.<node>`, `agent.<node>`.
    public var statusBucket: String { "\(prefix)-health-status" }
    /// The shared catalogue: `current` and `version.<n>` (see docs/fleet.md).
    public var catalogueBucket: String { "\(prefix)-health-catalog" }
    /// Hive's VM records (`node.<node>`).
    public var instanceStateBucket: String { "\(prefix)-instance-state" }
    /// Hive's node heartbeats (`heartbeat.<node>`).
    public var clusterStateBucket: String { "\(prefix)-cluster-state" }
}

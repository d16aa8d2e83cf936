import Foundation

/// How peers decide that a node is dead (`[health.peers]` in hive.toml); short values make tests run in seconds.
public struct PeerSettings: Sendable, Hashable {
    /// Hive's `heartbeat.<node>` older than this (or missing) and the node's agent silent as long: the node looks dead.
    public var heartbeatMaxAge: Duration = .seconds(30)
    /// An agent whose own heartbeat (`agent.<node>`) is younger than this is alive: its votes count.
    public var agentAliveWindow: Duration = .seconds(30)
    /// Agents heard within this window are the cluster's members; the quorum is a majority of them.
    public var membershipWindow: Duration = .seconds(3600)
    /// How often each agent reads the heartbeats, votes and looks for a verdict.
    public var interval: Duration = .seconds(10)
    /// Every KV read of a round gives up after this (a round never hangs on a slow server).
    public var readTimeout: Duration = .seconds(5)

    public init() {}
}

/// The recovery policy's limits and timings (`[health.recovery]` and `[health] recovery_enabled` in hive.toml).
public struct RecoverySettings: Sendable, Hashable {
    /// `true`: system-status impairments recover on their own; `false`: a proposal waits for a person.
    public var automatic = false
    /// An instance-store instance still impaired after its reboot may be deleted (`delete_instance`) without a person.
    public var terminationAllowed = false
    /// After a reboot, how long the instance has to become healthy before the next step.
    public var gracePeriod: Duration = .seconds(300)
    /// A stop or a start not confirmed by Hive within this fails the recovery.
    public var stepTimeout: Duration = .seconds(600)
    /// Requests on `ec2.cmd.<id>` wait this long for Hive's reply.
    public var commandTimeout: Duration = .seconds(10)
    /// No second recovery of one instance within this window after the previous one began.
    public var deduplicationWindow: Duration = .seconds(180)
    /// At most this many recoveries start per node within ``rateWindow``...
    public var maxPerNode = 2
    /// ...and this many in the whole cluster; past either, the recovery waits for a person.
    public var maxPerCluster = 5
    public var rateWindow: Duration = .seconds(3600)
    /// How often the policy looks at statuses and moves its records on.
    public var interval: Duration = .seconds(5)

    public init() {}
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

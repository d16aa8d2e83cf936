/// The settings of recovery and of the peers' dead-node votes, as hive.toml gives them (its keys are declared in
/// HealthCatalogue's `HealthConfigKey`); HealthRecovery's policy takes them as they are.

/// `[health.recovery]`: limits and timings of the recovery policy (docs/recovery.md).
public struct RecoveryConfig: Sendable, Hashable {
    /// An instance-store instance still impaired after its reboot may be deleted without a person.
    public var terminationAllowed = false
    /// After a reboot, how long the instance has to become healthy.
    public var gracePeriod: Duration = .seconds(300)
    /// A stop, start or delete not confirmed by Hive within this fails the recovery.
    public var stepTimeout: Duration = .seconds(600)
    /// Hive's reply to an `ec2.cmd.<id>` request is awaited this long.
    public var commandTimeout: Duration = .seconds(10)
    /// No second recovery of an instance within this window of the previous one.
    public var deduplicationWindow: Duration = .seconds(180)
    /// Automatic recoveries per node and per cluster within ``rateWindow``; past them a person decides.
    public var maxPerNode = 2
    public var maxPerCluster = 5
    public var rateWindow: Duration = .seconds(3600)
    /// How often the policy runs (and the peers vote).
    public var interval: Duration = .seconds(5)

    public init() {}
}

/// `[health.peers]`: how agents decide together that a node is dead.
public struct PeersConfig: Sendable, Hashable {
    /// Hive's heartbeat of a node older than this, and the node's agent silent: the node looks dead.
    public var heartbeatMaxAge: Duration = .seconds(30)
    /// Agents heard within this are alive (their votes count).
    public var agentAliveWindow: Duration = .seconds(30)
    /// Agents heard within this are members; the quorum is a majority of the members.
    public var membershipWindow: Duration = .seconds(3600)

    public init() {}
}

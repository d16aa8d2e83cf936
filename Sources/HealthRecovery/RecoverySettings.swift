import Foundation
import HealthCore

/// How peers decide that a node is dead: `[health.peers]` (``PeersConfig``, read as ``heartbeatMaxAge`` and so on)
/// plus the round's timing; short values make tests run in seconds.
@dynamicMemberLookup
public struct PeerSettings: Sendable, Hashable {
    /// hive.toml's `[health.peers]`.
    public var peers = PeersConfig()
    /// How often each agent reads the heartbeats, votes and looks for a verdict (`[health.recovery] interval`).
    public var interval: Duration = .seconds(10)
    /// Every KV read of a round gives up after this (a round never hangs on a slow server).
    public var readTimeout: Duration = .seconds(5)

    public init() {}

    public init(peers: PeersConfig, interval: Duration) {
        self.peers = peers
        self.interval = interval
    }

    public subscript<Value>(dynamicMember path: WritableKeyPath<PeersConfig, Value>) -> Value {
        get { peers[keyPath: path] }
        set { peers[keyPath: path] = newValue }
    }
}

/// The recovery policy's limits and timings: `[health] recovery_enabled` and `[health.recovery]` (``RecoveryConfig``,
/// read as ``gracePeriod`` and so on).
@dynamicMemberLookup
public struct RecoverySettings: Sendable, Hashable {
    /// `true`: system-status impairments recover on their own; `false`: a proposal waits for a person.
    public var automatic = false
    /// hive.toml's `[health.recovery]`.
    public var limits = RecoveryConfig()

    public init() {}

    public init(automatic: Bool, limits: RecoveryConfig) {
        self.automatic = automatic
        self.limits = limits
    }

    public subscript<Value>(dynamicMember path: WritableKeyPath<RecoveryConfig, Value>) -> Value {
        get { limits[keyPath: path] }
        set { limits[keyPath: path] = newValue }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

import Foundation
import HealthCore

/// Settings built on one hive.toml section: its keys read straight through (`settings.gracePeriod`), beside what
/// the runtime adds to them.
@dynamicMemberLookup
public protocol SectionSettings {
    associatedtype Section
    /// The hive.toml section.
    var section: Section { get set }
}

extension SectionSettings {
    public subscript<Value>(dynamicMember path: WritableKeyPath<Section, Value>) -> Value {
        get { section[keyPath: path] }
        set { section[keyPath: path] = newValue }
    }
}

/// How peers decide that a node is dead: `[health.peers]` (``PeersConfig``, read as ``heartbeatMaxAge`` and so on)
/// plus the round's timing; short values make tests run in seconds.
public struct PeerSettings: SectionSettings, Sendable, Hashable {
    /// hive.toml's `[health.peers]`.
    public var section = PeersConfig()
    /// How often each agent reads the heartbeats, votes and looks for a verdict (`[health.recovery] interval`).
    public var interval: Duration = .seconds(10)
    /// Every KV read of a round gives up after this (a round never hangs on a slow server).
    public var readTimeout: Duration = .seconds(5)

    public init() {}

    public init(peers: PeersConfig, interval: Duration) {
        self.section = peers
        self.interval = interval
    }
}

/// The recovery policy's limits and timings: `[health] recovery_enabled` and `[health.recovery]` (``RecoveryConfig``,
/// read as ``gracePeriod`` and so on).
public struct RecoverySettings: SectionSettings, Sendable, Hashable {
    /// `true`: system-status impairments recover on their own; `false`: a proposal waits for a person.
    public var automatic = false
    /// hive.toml's `[health.recovery]`.
    public var section = RecoveryConfig()

    public init() {}

    public init(automatic: Bool, limits: RecoveryConfig) {
        self.automatic = automatic
        self.section = limits
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

import Foundation
import HealthCatalogue
import HealthRecovery
import Logging
import ServiceLifecycle

extension DaemonSetup {
    /// `[health.peers]` (the round interval is `[health.recovery] interval`).
    public var peerSettings: PeerSettings {
        var settings = PeerSettings()
        settings.heartbeatMaxAge = config.peers.heartbeatMaxAge
        settings.agentAliveWindow = config.peers.agentAliveWindow
        settings.membershipWindow = config.peers.membershipWindow
        settings.interval = config.recovery.interval
        return settings
    }

    /// `[health] recovery_enabled` and `[health.recovery]`.
    public var recoverySettings: RecoverySettings {
        let recovery = config.recovery
        var settings = RecoverySettings()
        settings.automatic = config.recoveryEnabled
        settings.terminationAllowed = recovery.terminationAllowed
        settings.gracePeriod = recovery.gracePeriod
        settings.stepTimeout = recovery.stepTimeout
        settings.commandTimeout = recovery.commandTimeout
        settings.deduplicationWindow = recovery.deduplicationWindow
        settings.maxPerNode = recovery.maxPerNode
        settings.maxPerCluster = recovery.maxPerCluster
        settings.rateWindow = recovery.rateWindow
        settings.interval = recovery.interval
        return settings
    }
}

/// With NATS: the peers' dead-node votes and the recovery policy, one round every `[health.recovery] interval`.
struct RecoveryService: Service {
    let daemon: HealthDaemon
    let nats: NATSBackbone

    func run() async throws {
        let setup = daemon.setup
        let agent = RecoveryAgent(
            node: setup.node.name, connection: nats.connection, subjects: setup.subjects, peers: setup.peerSettings,
            recovery: setup.recoverySettings, logger: daemon.logger)
        await cancelWhenGracefulShutdown {
            await agent.run(interval: setup.config.recovery.interval)
        }
    }
}

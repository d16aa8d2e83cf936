import Foundation
import HealthCatalogue
import HealthRecovery
import Logging
import ServiceLifecycle

extension DaemonSetup {
    /// `[health.peers]` (the round interval is `[health.recovery] interval`).
    public var peerSettings: PeerSettings { PeerSettings(peers: config.peers, interval: config.recovery.interval) }

    /// `[health] recovery_enabled` and `[health.recovery]`.
    public var recoverySettings: RecoverySettings {
        RecoverySettings(automatic: config.recoveryEnabled, limits: config.recovery)
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

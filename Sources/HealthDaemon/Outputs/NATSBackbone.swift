import Foundation
import HealthCore
import HealthEngine
import HealthNATS
import HealthStateStore
import Logging
import ServiceLifecycle
import Synchronization

/// The daemon's NATS side: one connection, the publisher with its outbox, and the JetStream KV state store.
public struct NATSBackbone: Sendable {
    public let connection: NATSConnection
    public let publisher: HealthPublisher
    /// Nil when the status bucket could not be opened at start (the daemon then keeps its state in the local file).
    public let stateStore: KeyValueStateStore?

    /// Connects when NATS is configured; nil otherwise. An unreachable server is not fatal: the connection keeps
    /// trying and messages wait in the outbox.
    static func start(setup: DaemonSetup, logger: Logger) async throws -> NATSBackbone? {
        guard let configuration = setup.natsConfiguration else { return nil }
        let connection: NATSConnection
        do {
            connection = try await NATSConnection.connect(configuration, logger: logger)
        } catch where error.code == .tls || error.code == .authorization {
            // TLS and token failures already name the server and the CA file: one sentence, not two.
            throw SetupError(error.message)
        } catch {
            throw SetupError("NATS \(configuration.url): \(error)")
        }
        let subjects = setup.subjects
        let publisher = HealthPublisher(
            subjects: subjects, outbox: Outbox(limit: setup.config.nats.outboxLimit, logger: logger), logger: logger)
        var stateStore: KeyValueStateStore?
        // The bucket needs the server; wait a little for a server that is starting with us.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while stateStore == nil {
            do {
                stateStore = try await KeyValueStateStore.open(
                    connection: connection, subjects: subjects, node: setup.node.name, logger: logger)
            } catch {
                if ContinuousClock.now >= deadline {
                    logger.error(
                        "NATS: cannot open \(subjects.statusBucket): \(error); keeping state in the local file")
                    break
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        logger.info(
            "NATS configured",
            metadata: [
                "url": "\(configuration.url)", "prefix": "\(subjects.prefix)",
                "state_store": "\(stateStore == nil ? "file" : subjects.statusBucket)",
            ])
        return NATSBackbone(connection: connection, publisher: publisher, stateStore: stateStore)
    }
}

/// Sends the outbox (events stream ensured first), retrying through outages; at shutdown, sends what is left for
/// up to two seconds.
struct NATSSenderService: Service {
    let daemon: HealthDaemon
    let nats: NATSBackbone

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    try await nats.connection.ensureStream(nats.publisher.eventStream)
                    break
                } catch {
                    if failures == 0 { daemon.logger.warning("NATS: cannot create the events stream yet: \(error)") }
                    failures += 1
                    guard (try? await Task.sleep(for: .milliseconds(min(5000, 100 << min(failures, 6))))) != nil
                    else { return }
                }
            }
            await nats.publisher.outbox.run(connection: nats.connection)
        }
        await nats.publisher.outbox.drain(connection: nats.connection, deadline: .seconds(2))
        nats.connection.close()
    }
}

/// Publishes status after changes (checked every event-drain interval), a full snapshot every status interval, and
/// the metrics every metrics interval.
struct NATSStatusService: Service {
    let daemon: HealthDaemon
    let nats: NATSBackbone

    func run() async throws {
        let config = daemon.setup.config.nats
        let publisher = nats.publisher
        let state = daemon.evaluator
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let seen = Mutex<UInt64?>(nil)
                await every(daemon.timing.eventDrain) {
                    let generation = state.generation
                    guard seen.withLock({ $0 }) != generation else { return }
                    seen.withLock { $0 = generation }
                    publisher.publishStatus(state.report(), snapshot: false)
                }
            }
            group.addTask {
                await every(config.statusInterval) { publisher.publishStatus(state.report(), snapshot: true) }
            }
            group.addTask {
                await every(config.metricsInterval) { publisher.publishMetrics(state.report()) }
            }
            if let bucket = nats.stateStore?.bucket {
                group.addTask {
                    let heartbeat = AgentHeartbeat(node: daemon.setup.node.name)
                    await heartbeat.write(to: bucket, catalogue: state.catalogue, logger: daemon.logger)
                    await every(config.heartbeatInterval) {
                        await heartbeat.write(to: bucket, catalogue: state.catalogue, logger: daemon.logger)
                    }
                }
            }
        }
    }
}

/// The agent's own heartbeat: `agent.<node>` in the status bucket, a ``NodeHeartbeat`` (the shape of Hive's
/// `heartbeat.<node>` plus `agent` and the `catalogue` in force), written every `[health.nats] heartbeat_interval`.
struct AgentHeartbeat: Sendable {
    let node: String

    var key: String { "agent.\(node)" }

    func write(to bucket: NATSKeyValue, catalogue: CatalogueVersion?, logger: Logger) async {
        do {
            let heartbeat = NodeHeartbeat(node: node, timestamp: Date(), agent: "hive-health", catalogue: catalogue)
            try await bucket.put(key, value: try heartbeat.encoded())
        } catch {
            logger.debug("NATS: heartbeat not written: \(error)")
        }
    }
}

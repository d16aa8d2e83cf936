import HealthCore
import HealthDaemon
import HealthNATS
import HealthStore
import Logging

/// Where `status` reads the daemon's state: JetStream KV when NATS is configured, else the embedded file store.
enum StatusStore {
    /// The saved state and a description of where it came from; nil state when nothing is saved yet.
    static func load(setup: DaemonSetup, logger: Logger) async throws -> (state: PersistedState?, source: String) {
        guard let configuration = setup.natsConfiguration else {
            let store = FileStateStore(directory: setup.stateDirectory, logger: logger)
            return (try await store.load(), setup.stateDirectory)
        }
        let connection = try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
        defer { connection.close() }
        let source = "\(setup.subjects.statusBucket) on \(configuration.url)"
        let store: KeyValueStateStore
        do {
            store = try await KeyValueStateStore.open(
                connection: connection, subjects: setup.subjects, node: setup.node.name, logger: logger)
        } catch {
            throw SetupError("cannot open \(source): \(error)")
        }
        return (try await store.load(), source)
    }
}

import HealthCore
import HealthStore
import Logging

/// The store `status` reads: the embedded file store (the JetStream KV store joins with NATS).
enum FileStateStoreFactory {
    static func make(directory: String, logger: Logger) -> any StateStore {
        FileStateStore(directory: directory, logger: logger)
    }
}

import HealthCore
import Synchronization

/// ``KeyValueReader`` on JetStream KV: buckets are opened on first use and kept.
public final class NATSKeyValueReader: KeyValueReader {
    private let connection: NATSConnection
    private let buckets = Mutex<[String: NATSKeyValue]>([:])

    public init(connection: NATSConnection) { self.connection = connection }

    public func value(bucket name: String, key: String) async throws -> [UInt8]? {
        let bucket: NATSKeyValue
        if let opened = buckets.withLock({ $0[name] }) {
            bucket = opened
        } else {
            bucket = try await connection.keyValue(name)
            buckets.withLock { $0[name] = bucket }
        }
        return try await bucket.get(key)?.value
    }
}

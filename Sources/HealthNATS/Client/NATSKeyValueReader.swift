import HealthCore
import Synchronization

/// ``KeyValueReader`` on JetStream KV (buckets opened on first use and kept), and ``MessageRequester`` on the same
/// connection: what probes reach Hive's services with.
public final class NATSKeyValueReader: KeyValueReader, MessageRequester {
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

    public func request(
        subject: String, payload: [UInt8], timeout: Duration
    ) async throws(MessageRequestError) -> [UInt8] {
        do {
            return try await connection.request(subject, payload: payload, timeout: timeout).payload
        } catch {
            let code: MessageRequestError.Code =
                switch error.code {
                case .noResponders: .noResponders
                case .timeout: .timeout
                default: .other
                }
            throw MessageRequestError(code: code, message: error.description)
        }
    }
}

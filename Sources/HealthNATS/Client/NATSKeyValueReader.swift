import HealthCore
import Synchronization

/// ``KeyValueBrowser`` on JetStream KV (buckets opened on first use and kept), and ``MessageRequester`` on the same
/// connection: what probes and the `hive-kv` inventory reach Hive's services with.
public final class NATSKeyValueReader: KeyValueBrowser, MessageRequester {
    private let connection: NATSConnection
    private let buckets = Mutex<[String: NATSKeyValue]>([:])

    public init(connection: NATSConnection) { self.connection = connection }

    public func value(bucket name: String, key: String) async throws -> [UInt8]? {
        try await open(name).get(key)?.value
    }

    public func values(bucket name: String, matching keys: String, timeout: Duration) async throws -> [String: [UInt8]]
    {
        try await open(name).entries(matching: keys, timeout: timeout).mapValues(\.value)
    }

    public func watch(bucket name: String, key: String, changed: @Sendable () async -> Void) async throws {
        let watch = try await open(name).watch(key)
        await withTaskCancellationHandler {
            for await change in watch {
                if case .caughtUp = change { continue }
                await changed()
            }
        } onCancel: {
            watch.stop()
        }
    }

    /// The bucket `name`, opened on first use; a bucket that cannot be opened is tried again next time.
    private func open(_ name: String) async throws(NATSError) -> NATSKeyValue {
        if let opened = buckets.withLock({ $0[name] }) { return opened }
        let bucket = try await connection.keyValue(name)
        buckets.withLock { $0[name] = bucket }
        return bucket
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
            throw MessageRequestError(code, error.description)
        }
    }
}

/// Read access to a key-value store (JetStream KV when NATS is configured), for probes that read Hive's records.
///
/// The core only names the capability; the NATS module implements it. Probes get it through
/// ``ProbeEnvironment/keyValues``, which is nil when the daemon runs without NATS.
public protocol KeyValueReader: Sendable {
    /// The value of `key` in `bucket`, or nil when the key does not exist (or was deleted).
    func value(bucket: String, key: String) async throws -> [UInt8]?
}

/// Request/reply messaging (NATS when configured), for probes that ask Hive's services.
public protocol MessageRequester: Sendable {
    /// Sends `payload` to `subject` and returns the first reply's payload; throws when nobody answers within
    /// `timeout` or nobody listens on `subject`.
    func request(subject: String, payload: [UInt8], timeout: Duration) async throws -> [UInt8]
}

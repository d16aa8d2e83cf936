/// Read access to a key-value store (JetStream KV when NATS is configured), for probes that read Hive's records.
///
/// The core only names the capability; the NATS module implements it. Probes get it through
/// ``ProbeEnvironment/keyValues``, which is nil when the daemon runs without NATS.
public protocol KeyValueReader: Sendable {
    /// The value of `key` in `bucket`, or nil when the key does not exist (or was deleted).
    func value(bucket: String, key: String) async throws -> [UInt8]?
}

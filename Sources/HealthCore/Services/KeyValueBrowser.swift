/// A ``KeyValueReader`` that can also list and watch keys: what the `hive-kv` inventory reads Hive's records through.
///
/// The core only names the capability; HealthNATS implements it on JetStream KV, so the inventory does not depend on
/// the NATS client.
public protocol KeyValueBrowser: KeyValueReader {
    /// The current values of the keys of `bucket` matching `keys` (NATS wildcards: `*` one token, `>` the rest),
    /// read within `timeout`; throws when the bucket cannot be read.
    func values(bucket: String, matching keys: String, timeout: Duration) async throws -> [String: [UInt8]]

    /// Calls `changed` after each write or delete of `key` in `bucket` (not for the value already there), until the
    /// task is cancelled or the watch ends (returns); throws when the watch cannot start.
    func watch(bucket: String, key: String, changed: @Sendable () async -> Void) async throws
}

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
    /// Sends `payload` to `subject` and returns the first reply's payload; throws a ``MessageRequestError`` when
    /// nobody answers within `timeout` or nobody listens on `subject`.
    func request(subject: String, payload: [UInt8], timeout: Duration) async throws(MessageRequestError) -> [UInt8]
}

/// Why a request got no reply.
public typealias MessageRequestError = CodedError<MessageRequestErrors>

/// The domain of ``MessageRequestError``: its messages say what went wrong, so its description is the message alone.
public enum MessageRequestErrors: ErrorDomain {
    public static var describesCode: Bool { false }
}

extension CodedError.Code where Domain == MessageRequestErrors {
    /// Nobody subscribes to the subject (the server said so at once).
    public static var noResponders: Self { Self("no-responders") }
    /// Nobody answered within the timeout.
    public static var timeout: Self { Self("timeout") }
    /// Anything else (not connected, closed...).
    public static var other: Self { Self("other") }
}

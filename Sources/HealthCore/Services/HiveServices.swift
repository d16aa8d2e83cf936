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
public struct MessageRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; new codes may be added.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Nobody subscribes to the subject (the server said so at once).
        public static let noResponders = Code(rawValue: "no-responders")
        /// Nobody answered within the timeout.
        public static let timeout = Code(rawValue: "timeout")
        /// Anything else (not connected, closed...).
        public static let other = Code(rawValue: "other")
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

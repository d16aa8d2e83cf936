import CNATS

/// A failure of a NATS operation: what kind (``Code``), libnats' status and its explanation.
public struct NATSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; new codes may be added.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The server cannot be reached (yet); the connection keeps trying in the background.
        public static let notConnected = Code(rawValue: "not-connected")
        /// The connection was closed with ``NATSConnection/close()``.
        public static let closed = Code(rawValue: "closed")
        public static let timeout = Code(rawValue: "timeout")
        /// A request found nobody subscribed to its subject.
        public static let noResponders = Code(rawValue: "no-responders")
        /// A key, bucket or stream does not exist.
        public static let notFound = Code(rawValue: "not-found")
        /// A KV create found the key already there.
        public static let alreadyExists = Code(rawValue: "already-exists")
        /// A KV update found the key at another revision than the one expected (someone else wrote it).
        public static let wrongRevision = Code(rawValue: "wrong-revision")
        /// A payload, subject or setting libnats refused.
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// TLS failed: the server's certificate is not signed by the configured CA (`cacert`), names another host,
        /// the CA file cannot be read, or TLS is required on one side only.
        public static let tls = Code(rawValue: "tls")
        /// The server refused the credentials (`acl.token`).
        public static let authorization = Code(rawValue: "authorization")
        /// Anything else libnats reported.
        public static let other = Code(rawValue: "other")
    }

    public var code: Code
    /// The libnats `natsStatus` value (0 when the error did not come from libnats).
    public var status: UInt32
    public var message: String

    public init(code: Code, status: UInt32 = 0, message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    /// TLS and token failures are one sentence already naming the server and the CA file; the rest get the code.
    public var description: String {
        code == .tls || code == .authorization ? message : "NATS \(code): \(message)"
    }

    /// The error for a libnats status other than `NATS_OK`, with libnats' last error text for this thread.
    static func from(_ status: natsStatus, _ operation: String) -> NATSError {
        var detail = String(cString: natsStatus_GetText(status))
        var last = NATS_OK
        if let text = nats_GetLastError(&last), last == status {
            let lastText = String(cString: text)
            if !lastText.isEmpty { detail = lastText }
        }
        let code: Code =
            switch status {
            case NATS_TIMEOUT: .timeout
            case NATS_NO_RESPONDERS: .noResponders
            case NATS_NOT_FOUND: .notFound
            case NATS_CONNECTION_CLOSED: .closed
            case NATS_NO_SERVER, NATS_NOT_YET_CONNECTED, NATS_CONNECTION_DISCONNECTED, NATS_STALE_CONNECTION:
                .notConnected
            case NATS_INVALID_ARG, NATS_INVALID_SUBJECT, NATS_MAX_PAYLOAD: .invalidArgument
            case NATS_SSL_ERROR, NATS_SECURE_CONNECTION_REQUIRED, NATS_SECURE_CONNECTION_WANTED: .tls
            case NATS_CONNECTION_AUTH_FAILED, NATS_NOT_PERMITTED: .authorization
            default: .other
            }
        return NATSError(code: code, status: status.rawValue, message: "\(operation): \(detail)")
    }

    static func check(_ status: natsStatus, _ operation: @autoclosure () -> String) throws(NATSError) {
        guard status == NATS_OK else { throw from(status, operation()) }
    }
}

import HealthIO

/// Trouble of a network client itself (it could not look), as opposed to a failing target, which is a result.
public struct NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of trouble.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The socket file does not exist.
        public static let missing = Code(rawValue: "missing")
        /// Nobody listens on the socket.
        public static let refused = Code(rawValue: "refused")
        /// The peer closed or reset the connection.
        public static let closed = Code(rawValue: "closed")
        /// No answer in time.
        public static let timeout = Code(rawValue: "timeout")
        /// The peer sent something that is not the protocol, or too much of it.
        public static let protocolViolation = Code(rawValue: "protocol")
        /// The kernel refused us (no permission: raw sockets need CAP_NET_RAW).
        public static let permission = Code(rawValue: "permission")
        /// Any other system call failure.
        public static let system = Code(rawValue: "system")
        /// A bad argument (address, interface name).
        public static let invalid = Code(rawValue: "invalid")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension NetworkError {
    /// The socket layer's error in the network clients' terms.
    init(_ error: IOError) {
        let code: Code =
            switch error.code {
            case .missing: .missing
            case .refused: .refused
            case .closed: .closed
            case .timeout: .timeout
            case .frameTooLong, .protocolViolation: .protocolViolation
            case .permission: .permission
            case .invalid: .invalid
            default: .system
            }
        self.init(code, error.message)
    }
}

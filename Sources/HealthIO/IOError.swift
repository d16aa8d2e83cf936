#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Why a socket, file or blocking call of ``HealthIO`` did not work. Each client (QMP, OVSDB, NBD...) turns it into
/// its own error with ``code``, which is the one place an `errno` becomes a kind of trouble.
public struct IOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of trouble, extensible without breaking callers.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The socket or file does not exist.
        public static let missing = Code(rawValue: "missing")
        /// The path exists but is no socket (or a component is no directory).
        public static let notSocket = Code(rawValue: "not a socket")
        /// Nobody listens (connection refused).
        public static let refused = Code(rawValue: "refused")
        /// The host or network cannot be reached, or the address is not local.
        public static let unreachable = Code(rawValue: "unreachable")
        /// The peer closed or reset the connection.
        public static let closed = Code(rawValue: "closed")
        /// No answer (or no room to write) before the deadline.
        public static let timeout = Code(rawValue: "timeout")
        /// The peer sent a frame (a line, a JSON text) over the limit.
        public static let frameTooLong = Code(rawValue: "frame too long")
        /// The peer sent bytes that cannot be framed (a JSON stream with garbage between texts, nesting too deep).
        public static let protocolViolation = Code(rawValue: "protocol violation")
        /// The kernel refused us (EACCES, EPERM).
        public static let permission = Code(rawValue: "permission")
        /// A bad argument (a socket path too long).
        public static let invalid = Code(rawValue: "invalid")
        /// A file larger than the caller's bound.
        public static let tooLarge = Code(rawValue: "too large")
        /// The caller's task was cancelled.
        public static let cancelled = Code(rawValue: "cancelled")
        /// Any other system call failure.
        public static let system = Code(rawValue: "system")

        /// The kind of trouble an `errno` from a socket or file call means.
        public init(errno code: Int32) {
            switch code {
            case ENOENT: self = .missing
            case ENOTSOCK, ENOTDIR: self = .notSocket
            case ECONNREFUSED: self = .refused
            case EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL: self = .unreachable
            case EPIPE, ECONNRESET, ECONNABORTED: self = .closed
            // EAGAIN on a unix connect: the listener's backlog is full, which is a peer that does not keep up.
            case ETIMEDOUT, EAGAIN: self = .timeout
            case EACCES, EPERM: self = .permission
            case ENAMETOOLONG, EINVAL: self = .invalid
            default: self = .system
            }
        }

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The error of a failed system call: `"<context>: <call>: <strerror>"`, its code from ``Code/init(errno:)``.
    public init(errno code: Int32, _ context: String, call: String) {
        self.init(Code(errno: code), "\(context): \(call): \(IOError.text(errno: code))")
    }

    public var description: String { message }

    /// `strerror(code)`.
    public static func text(errno code: Int32) -> String { String(cString: strerror(code)) }
}

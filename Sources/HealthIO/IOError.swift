import HealthCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Why a socket, file or blocking call of ``HealthIO`` did not work. Each client (QMP, OVSDB, NBD...) turns it into
/// its own error with ``code``, which is the one place an `errno` becomes a kind of trouble.
public typealias IOError = CodedError<IOErrors>

/// The domain of ``IOError``: its messages say what went wrong, so its description is the message alone.
public enum IOErrors: SocketErrorDomain {}

/// The domain of an error of the socket layer or of a client on it (QEMU's, the network clients'): the kinds of
/// trouble they share are declared once, here, and each domain adds its own. Messages say what went wrong, so the
/// description is the message alone.
public protocol SocketErrorDomain: ErrorDomain {}

extension SocketErrorDomain {
    public static var describesCode: Bool { false }
}

extension CodedError.Code where Domain: SocketErrorDomain {
    /// The socket (or file) does not exist.
    public static var missing: Self { Self("missing") }
    /// Nobody listens (connection refused).
    public static var refused: Self { Self("refused") }
    /// The peer closed or reset the connection.
    public static var closed: Self { Self("closed") }
    /// No answer (or no room to write) before the deadline.
    public static var timeout: Self { Self("timeout") }
    /// The peer sent something that is not the protocol (bytes that cannot be framed, not JSON, wrong shape, too
    /// deep).
    public static var protocolViolation: Self { Self("protocol violation") }
    /// Any other system call failure.
    public static var system: Self { Self("system") }
}

extension CodedError where Domain: SocketErrorDomain {
    /// The socket layer's error in a client's terms: a code the two share is kept, any other is what `otherCode`
    /// makes of it, or ``CodedError/Code/system``.
    public init(_ error: IOError, otherCode: (IOError.Code) -> Code?) {
        let shared: [IOError.Code] = [.missing, .refused, .closed, .timeout, .protocolViolation, .system]
        self.init(shared.contains(error.code) ? Code(error.code.name) : otherCode(error.code) ?? .system, error.message)
    }
}

extension CodedError.Code where Domain == IOErrors {
    /// The path exists but is no socket (or a component is no directory).
    public static var notSocket: Self { Self("not a socket") }
    /// The host or network cannot be reached, or the address is not local.
    public static var unreachable: Self { Self("unreachable") }
    /// The peer sent a frame (a line, a JSON text) over the limit.
    public static var frameTooLong: Self { Self("frame too long") }
    /// The kernel refused us (EACCES, EPERM).
    public static var permission: Self { Self("permission") }
    /// A bad argument (a socket path too long).
    public static var invalid: Self { Self("invalid") }
    /// A file larger than the caller's bound.
    public static var tooLarge: Self { Self("too large") }
    /// The caller's task was cancelled.
    public static var cancelled: Self { Self("cancelled") }

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
}

extension CodedError where Domain == IOErrors {
    /// The error of a failed system call: `"<context>: <call>: <strerror>"`, its code from ``Code/init(errno:)``.
    public init(errno code: Int32, _ context: String, call: String) {
        self.init(Code(errno: code), "\(context): \(call): \(IOError.text(errno: code))")
    }

    /// `strerror(code)`.
    public static func text(errno code: Int32) -> String { String(cString: strerror(code)) }
}

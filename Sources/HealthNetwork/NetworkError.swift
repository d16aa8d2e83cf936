import HealthCore
import HealthIO

/// Trouble of a network client itself (it could not look), as opposed to a failing target, which is a result.
public typealias NetworkError = CodedError<NetworkErrors>

/// The domain of ``NetworkError``: its messages say what went wrong, so its description is the message alone.
public enum NetworkErrors: ErrorDomain {
    public static var describesCode: Bool { false }
}

extension CodedError.Code where Domain == NetworkErrors {
    /// The socket file does not exist.
    public static var missing: Self { Self("missing") }
    /// Nobody listens on the socket.
    public static var refused: Self { Self("refused") }
    /// The peer closed or reset the connection.
    public static var closed: Self { Self("closed") }
    /// No answer in time.
    public static var timeout: Self { Self("timeout") }
    /// The peer sent something that is not the protocol, or too much of it.
    public static var protocolViolation: Self { Self("protocol") }
    /// The kernel refused us (no permission: raw sockets need CAP_NET_RAW).
    public static var permission: Self { Self("permission") }
    /// Any other system call failure.
    public static var system: Self { Self("system") }
    /// A bad argument (address, interface name).
    public static var invalid: Self { Self("invalid") }
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

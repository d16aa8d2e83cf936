import HealthCore
import HealthIO

/// Trouble of a network client itself (it could not look), as opposed to a failing target, which is a result.
public typealias NetworkError = CodedError<NetworkErrors>

/// The domain of ``NetworkError``: the socket layer's codes (``HealthIO/SocketErrorDomain``) and the network
/// clients' own.
public enum NetworkErrors: SocketErrorDomain {}

extension CodedError.Code where Domain == NetworkErrors {
    /// The kernel refused us (no permission: raw sockets need CAP_NET_RAW).
    public static var permission: Self { Self("permission") }
    /// A bad argument (address, interface name).
    public static var invalid: Self { Self("invalid") }
}

extension NetworkError {
    /// The socket layer's error in the network clients' terms.
    init(_ error: IOError) {
        self.init(error) { code in
            switch code {
            case .frameTooLong: .protocolViolation
            case .permission: .permission
            case .invalid: .invalid
            default: nil
            }
        }
    }
}

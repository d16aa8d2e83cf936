import HealthCore
import HealthIO

/// Why talking to a QEMU monitor or guest agent socket did not work.
///
/// A peer that cannot be reached, answers garbage or never answers is an error of the connection; whether that is a
/// failing instance or an unknown result is the probe's decision (see ``Code/meansPeerIsGone``).
public typealias QEMUError = CodedError<QEMUErrors>

/// The domain of ``QEMUError``: the socket layer's codes (``HealthIO/SocketErrorDomain``) and QEMU's own.
public enum QEMUErrors: SocketErrorDomain {}

extension CodedError.Code where Domain == QEMUErrors {
    /// The peer sent a line longer than the limit.
    public static var lineTooLong: Self { Self("line too long") }
    /// The command was answered with a QMP error.
    public static var commandFailed: Self { Self("command failed") }
    /// The caller's task was cancelled.
    public static var cancelled: Self { Self("cancelled") }
    /// A monitor that is not hive-health's own was asked to be held open (see ``QMPMonitorRole``).
    public static var notOwnMonitor: Self { Self("not own monitor") }
}

extension CodedError where Domain == QEMUErrors {
    /// The socket is gone or refuses connections, or the peer hung up: the process behind it has most likely exited.
    public var meansPeerIsGone: Bool { code == .missing || code == .refused || code == .closed }
}

extension QEMUError {
    /// The socket layer's error in QEMU's terms.
    init(_ error: IOError) {
        self.init(error) { code in
            switch code {
            case .frameTooLong: .lineTooLong
            case .cancelled: .cancelled
            default: nil
            }
        }
    }
}

extension FramedSocket {
    /// A QMP or guest agent socket: lines of at most `maxLineBytes`, handled as they arrive.
    static func qemu(path: String, maxLineBytes: Int, handler: @escaping @Sendable (Event) -> Void)
        throws(QEMUError) -> FramedSocket
    {
        do throws(IOError) {
            return try FramedSocket(unixPath: path, framer: LineFramer(maxBytes: maxLineBytes), handler: handler)
        } catch {
            throw QEMUError(error)
        }
    }

    /// Closes the socket for `error` (its code kept as far as the socket layer has one).
    func close(_ error: QEMUError) {
        let code: IOError.Code =
            switch error.code {
            case .protocolViolation: .protocolViolation
            case .lineTooLong: .frameTooLong
            case .timeout: .timeout
            case .cancelled: .cancelled
            default: .closed
            }
        close(IOError(code, error.message))
    }
}

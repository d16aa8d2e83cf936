import HealthCore

/// Why an NBD export could not be read.
///
/// ``isStoragePathBroken`` separates the export's trouble (no server, refused, stalled, an error reply, a peer that
/// does not speak NBD) from the client's own (a URI it cannot use, no descriptors left, cancelled).
public typealias NBDError = CodedError<NBDErrors>

/// The domain of ``NBDError``.
public enum NBDErrors: ErrorDomain {}

extension CodedError.Code where Domain == NBDErrors {
    /// The URI is not one of the accepted forms.
    public static var invalidURI: Self { Self("invalid URI") }
    /// A request the client does not make (a read length out of range).
    public static var invalidRequest: Self { Self("invalid request") }
    /// Nothing is there: the socket file is missing, the host does not resolve or is unreachable.
    public static var noServer: Self { Self("no server") }
    /// Something is there but nobody listens (ECONNREFUSED).
    public static var refused: Self { Self("connection refused") }
    /// The server stopped answering within the time given (connect, handshake or read).
    public static var stalled: Self { Self("stall") }
    /// The server hung up in the middle.
    public static var closed: Self { Self("closed") }
    /// The server refused the export (an `NBD_REP_ERR_*` option reply).
    public static var optionRefused: Self { Self("export refused") }
    /// The server answered the read with an error (EIO...).
    public static var errorReply: Self { Self("error reply") }
    /// The peer does not speak (fixed newstyle) NBD.
    public static var protocolViolation: Self { Self("protocol violation") }
    /// The client's own trouble: socket(), no descriptors left...
    public static var system: Self { Self("system") }
    /// The caller's task was cancelled.
    public static var cancelled: Self { Self("cancelled") }
}

extension CodedError where Domain == NBDErrors {
    /// True when the export (or the way to it) is at fault; false for the client's own trouble.
    public var isStoragePathBroken: Bool {
        code != .invalidURI && code != .invalidRequest && code != .system && code != .cancelled
    }
}

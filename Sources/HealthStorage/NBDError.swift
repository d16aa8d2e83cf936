/// Why an NBD export could not be read.
///
/// ``isStoragePathBroken`` separates the export's trouble (no server, refused, stalled, an error reply, a peer that
/// does not speak NBD) from the client's own (a URI it cannot use, no descriptors left, cancelled).
public struct NBDError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }

        /// The URI is not one of the accepted forms.
        public static let invalidURI = Code("invalid URI")
        /// A request the client does not make (a read length out of range).
        public static let invalidRequest = Code("invalid request")
        /// Nothing is there: the socket file is missing, the host does not resolve or is unreachable.
        public static let noServer = Code("no server")
        /// Something is there but nobody listens (ECONNREFUSED).
        public static let refused = Code("connection refused")
        /// The server stopped answering within the time given (connect, handshake or read).
        public static let stalled = Code("stall")
        /// The server hung up in the middle.
        public static let closed = Code("closed")
        /// The server refused the export (an `NBD_REP_ERR_*` option reply).
        public static let optionRefused = Code("export refused")
        /// The server answered the read with an error (EIO...).
        public static let errorReply = Code("error reply")
        /// The peer does not speak (fixed newstyle) NBD.
        public static let protocolViolation = Code("protocol violation")
        /// The client's own trouble: socket(), no descriptors left...
        public static let system = Code("system")
        /// The caller's task was cancelled.
        public static let cancelled = Code("cancelled")

        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// True when the export (or the way to it) is at fault; false for the client's own trouble.
    public var isStoragePathBroken: Bool {
        code != .invalidURI && code != .invalidRequest && code != .system && code != .cancelled
    }

    public var description: String { "\(code): \(message)" }
}

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A connected, non-blocking stream socket (unix or TCP): the one place in hive-health that creates, connects,
/// binds and accepts sockets of this kind. Every wait is bounded by a deadline and, when a ``CancellationFlag`` is
/// given, cut short within 50 ms of it being raised.
///
/// Used two ways: synchronously, on a thread of ``BlockingPool`` (``read(exactly:deadline:cancellation:step:)``,
/// ``write(_:deadline:cancellation:step:)``), and through ``FramedSocket``, which reads it as events arrive.
///
/// - Important: The descriptor closes once, in ``close()`` or when the socket is released; a socket is used by one
///   thread at a time (``FramedSocket`` keeps all of its I/O on its own queue).
public final class StreamSocket: Sendable {
    /// The descriptor (non-blocking, close-on-exec).
    public let descriptor: Int32
    /// Where the socket goes, for messages: a path, or `host:port`.
    public let peer: String
    private let closed = Atomic<Bool>(false)

    private init(descriptor: Int32, peer: String) {
        self.descriptor = descriptor
        self.peer = peer
    }

    deinit { close() }

    /// Closes the descriptor (once).
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(descriptor)
    }

    // MARK: - Connecting

    private static let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        | Int32(SOCK_CLOEXEC.rawValue)

    private static func newSocket(_ family: Int32, peer: String) throws(IOError) -> StreamSocket {
        let fd = socket(family, streamType, 0)
        guard fd >= 0 else { throw IOError(errno: errno, peer, call: "socket") }
        return StreamSocket(descriptor: fd, peer: peer)
    }

    /// Connects to the unix socket at `path`. A unix socket connects at once or fails: no wait.
    public static func connect(unixPath path: String) throws(IOError) -> StreamSocket {
        var address = try UnixAddress(path)
        let socket = try newSocket(AF_UNIX, peer: path)
        if address.withSockaddr({ Glibc.connect(socket.descriptor, $0, $1) }) == 0 { return socket }
        let code = errno
        switch code {
        case ENOENT: throw IOError(.missing, "\(path): no such socket")
        case ECONNREFUSED: throw IOError(.refused, "\(path): connection refused (nobody listens)")
        case EAGAIN: throw IOError(.timeout, "\(path): the listener's backlog is full")
        default: throw IOError(errno: code, path, call: "connect")
        }
    }

    /// Nil when something accepts connections on the unix socket at `path` (connected, then closed at once without
    /// reading or writing), else why not.
    public static func probe(unixPath path: String) -> IOError? {
        do throws(IOError) {
            try connect(unixPath: path).close()
            return nil
        } catch {
            return error
        }
    }

    /// Connects over TCP to `host` (a name or a numeric address) and `port`, trying at most 8 of its addresses, all
    /// before `deadline`.
    public static func connect(
        host: String, port: UInt16, deadline: ContinuousClock.Instant, cancellation: CancellationFlag? = nil
    ) throws(IOError) -> StreamSocket {
        let peer = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw IOError(.unreachable, "\(peer): cannot resolve host: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = IOError(.unreachable, "\(peer): no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        var tried = 0
        while let info = entry, tried < 8 {
            tried += 1
            entry = info.pointee.ai_next
            let socket = try newSocket(info.pointee.ai_family, peer: peer)
            var one: Int32 = 1
            _ = setsockopt(socket.descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(socket.descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return socket }
            var code = errno
            if code == EINPROGRESS {
                // The deadline is shared by every address: a stall or a cancellation ends the attempt.
                try socket.wait(for: Int16(POLLOUT), deadline: deadline, cancellation: cancellation, step: "connecting")
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(socket.descriptor, SOL_SOCKET, SO_ERROR, &soError, &length)
                if soError == 0 { return socket }
                code = soError
            }
            switch code {
            case ECONNREFUSED: lastError = IOError(.refused, "\(peer): connection refused (nobody listens)")
            case ETIMEDOUT: lastError = IOError(.timeout, "\(peer): connect timed out")
            default: lastError = IOError(errno: code, peer, call: "connect")
            }
        }
        throw lastError
    }

    /// A TCP port on 127.0.0.1 nobody listened on a moment ago (bound to port 0, asked, released): for test servers.
    public static func unusedLoopbackPort() throws(IOError) -> UInt16 {
        let socket = try newSocket(AF_INET, peer: "127.0.0.1:0")
        defer { socket.close() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket.descriptor, $0, length) == 0 && getsockname(socket.descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw IOError(errno: errno, "127.0.0.1:0", call: "bind") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` (connected within 1 s, then closed).
    public static func acceptsLoopback(port: UInt16) -> Bool {
        (try? connect(host: "127.0.0.1", port: port, deadline: .now.advanced(by: .seconds(1))))?.close() != nil
    }

    // MARK: - Blocking I/O with a deadline

    /// Waits until the socket is ready for `events` (`POLLIN`, `POLLOUT`), at most until `deadline`, in slices of
    /// 50 ms so a raised `cancellation` is seen.
    public func wait(
        for events: Int16, deadline: ContinuousClock.Instant, cancellation: CancellationFlag? = nil, step: String
    ) throws(IOError) {
        let clock = ContinuousClock()
        while true {
            if cancellation?.isRaised == true { throw IOError(.cancelled, "\(peer): cancelled while \(step)") }
            let left = deadline - clock.now
            guard left > .zero else { throw IOError(.timeout, "\(peer): no answer while \(step) (the peer stalls)") }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&entry, 1, left.pollMilliseconds(slice: cancellation == nil ? 1000 : 50))
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw IOError(errno: errno, peer, call: "poll") }
        }
    }

    /// One non-blocking read into `buffer`: the count read, 0 when the peer closed, nil when nothing is there yet.
    public func readAvailable(into buffer: inout [UInt8]) throws(IOError) -> Int? {
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return count }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return nil
            case ECONNRESET: throw IOError(.closed, "\(peer): the peer reset the connection")
            default: throw IOError(errno: code, peer, call: "read")
            }
        }
    }

    /// Reads at least one and at most `count` bytes, waiting until `deadline`; empty when the peer closed.
    public func read(
        upTo count: Int, deadline: ContinuousClock.Instant, cancellation: CancellationFlag? = nil, step: String
    ) throws(IOError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(1, count))
        while true {
            if let got = try readAvailable(into: &buffer) { return Array(buffer.prefix(got)) }
            try wait(for: Int16(POLLIN), deadline: deadline, cancellation: cancellation, step: step)
        }
    }

    /// Reads exactly `count` bytes (the caller bounds `count`) before `deadline`; a peer that closes first is
    /// ``IOError/Code/closed``.
    public func read(
        exactly count: Int, deadline: ContinuousClock.Instant, cancellation: CancellationFlag? = nil, step: String
    ) throws(IOError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(descriptor, raw.baseAddress! + offset, count - offset)
            }
            if got > 0 {
                offset += got
                continue
            }
            if got == 0 {
                throw IOError(.closed, "\(peer): the peer hung up while \(step) (after \(offset) of \(count) bytes)")
            }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                try wait(for: Int16(POLLIN), deadline: deadline, cancellation: cancellation, step: step)
            case ECONNRESET: throw IOError(.closed, "\(peer): the peer reset the connection while \(step)")
            default: throw IOError(errno: code, peer, call: "read")
            }
        }
        return buffer
    }

    /// Writes all of `bytes` before `deadline`; a peer that never reads is ``IOError/Code/timeout``, one that hung up
    /// ``IOError/Code/closed``.
    public func write(
        _ bytes: [UInt8], deadline: ContinuousClock.Instant, cancellation: CancellationFlag? = nil, step: String
    ) throws(IOError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
                continue
            }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                try wait(for: Int16(POLLOUT), deadline: deadline, cancellation: cancellation, step: step)
            case EPIPE, ECONNRESET: throw IOError(.closed, "\(peer): the peer hung up while \(step)")
            default: throw IOError(errno: code, peer, call: "write")
            }
        }
    }
}

/// A listening unix stream socket: the daemon's control socket, test peers and stand-ins serve on it. Removing the
/// socket file is the owner's.
public final class UnixListener: Sendable {
    /// The socket file.
    public let path: String
    private let socket: StreamSocket

    /// Binds `path` (which must not exist) and listens with `backlog`. With `permissions` (`0o600`), the socket file
    /// gets that mode before anyone can connect (set between bind and listen).
    public init(path: String, backlog: Int32 = 16, permissions: UInt32? = nil) throws(IOError) {
        var address = try UnixAddress(path)
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errno: errno, path, call: "socket") }
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw IOError(errno: code, path, call: "bind")
        }
        if let permissions, chmod(path, mode_t(permissions)) != 0 {
            let code = errno
            _ = Glibc.close(fd)
            _ = unlink(path)
            throw IOError(errno: code, path, call: "chmod")
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw IOError(errno: code, path, call: "listen")
        }
        self.path = path
        self.socket = StreamSocket.adopt(fd, peer: path)
    }

    /// The next connection, waiting at most `timeout`; nil when none came.
    public func accept(timeout: Duration) throws(IOError) -> StreamSocket? {
        do throws(IOError) {
            try socket.wait(for: Int16(POLLIN), deadline: .now.advanced(by: timeout), step: "accepting")
        } catch where error.code == .timeout {
            return nil
        }
        let client = Glibc.accept(socket.descriptor, nil, nil)
        guard client >= 0 else {
            let code = errno
            if code == EAGAIN || code == EINTR || code == ECONNABORTED { return nil }
            throw IOError(errno: code, path, call: "accept")
        }
        let accepted = StreamSocket.adopt(client, peer: path)
        // accept4 is not in Glibc's module: the flags the connecting side gets from socket(), set here.
        guard fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK) == 0,
            fcntl(client, F_SETFD, FD_CLOEXEC) == 0
        else { throw IOError(errno: errno, path, call: "fcntl") }
        return accepted
    }

    /// Stops listening (the socket file stays: connecting to it is then refused).
    public func close() { socket.close() }
}

extension StreamSocket {
    fileprivate static func adopt(_ descriptor: Int32, peer: String) -> StreamSocket {
        StreamSocket(descriptor: descriptor, peer: peer)
    }
}

/// A `sockaddr_un` for a path, refused when the path is empty or does not fit.
private struct UnixAddress {
    private var address = sockaddr_un()

    init(_ path: String) throws(IOError) {
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw IOError(.invalid, "socket path '\(path.prefix(200))' is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }

    mutating func withSockaddr(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

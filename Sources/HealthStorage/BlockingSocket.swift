import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A non-blocking stream socket driven synchronously with `poll`, every wait bounded by one deadline and cut short
/// when ``CancellationFlag`` is raised. Used off the cooperative pool (see ``NBDClient``), by one thread at a time.
struct BlockingSocket: ~Copyable {
    let descriptor: Int32
    let deadline: ContinuousClock.Instant
    let cancellation: CancellationFlag
    /// For messages: where the socket goes.
    let peer: String

    private init(descriptor: Int32, deadline: ContinuousClock.Instant, cancellation: CancellationFlag, peer: String) {
        self.descriptor = descriptor
        self.deadline = deadline
        self.cancellation = cancellation
        self.peer = peer
    }

    deinit { _ = Glibc.close(descriptor) }

    /// Connects to `endpoint` before `deadline`.
    static func connect(
        _ endpoint: NBDAddress.Endpoint, deadline: ContinuousClock.Instant, cancellation: CancellationFlag
    ) throws(NBDError) -> BlockingSocket {
        switch endpoint {
        case .unix(let path): return try connectUnix(path, deadline: deadline, cancellation: cancellation)
        case .tcp(let host, let port):
            return try connectTCP(host: host, port: port, deadline: deadline, cancellation: cancellation)
        }
    }

    private static func newSocket(_ family: Int32, peer: String) throws(NBDError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family, type, 0)
        guard fd >= 0 else { throw NBDError(.system, "\(peer): socket: \(errorText(errno))") }
        return fd
    }

    private static func connectUnix(
        _ path: String, deadline: ContinuousClock.Instant, cancellation: CancellationFlag
    ) throws(NBDError) -> BlockingSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw NBDError(.invalidURI, "socket path '\(path.prefix(200))' is empty or over \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = try newSocket(AF_UNIX, peer: path)
        let socket = BlockingSocket(descriptor: fd, deadline: deadline, cancellation: cancellation, peer: path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return socket }
        let code = errno
        switch code {
        case ENOENT: throw NBDError(.noServer, "\(path): no such socket (the server is gone)")
        case ECONNREFUSED: throw NBDError(.refused, "\(path): connection refused (nobody listens on the socket)")
        case EAGAIN: throw NBDError(.stalled, "\(path): the server's listen backlog is full")
        case ENOTSOCK, ENOTDIR: throw NBDError(.noServer, "\(path): not a socket (\(errorText(code)))")
        default: throw NBDError(.system, "\(path): connect: \(errorText(code))")
        }
    }

    private static func connectTCP(
        host: String, port: UInt16, deadline: ContinuousClock.Instant, cancellation: CancellationFlag
    ) throws(NBDError) -> BlockingSocket {
        let peer = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw NBDError(.noServer, "\(peer): cannot resolve host: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = NBDError(.noServer, "\(peer): no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        var tried = 0
        while let info = entry, tried < 8 {
            tried += 1
            entry = info.pointee.ai_next
            let fd = try newSocket(info.pointee.ai_family, peer: peer)
            let socket = BlockingSocket(descriptor: fd, deadline: deadline, cancellation: cancellation, peer: peer)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return socket }
            var code = errno
            if code == EINPROGRESS {
                // The deadline is shared by every address: a stall or a cancellation ends the attempt.
                try socket.wait(for: Int16(POLLOUT), step: "connecting")
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if soError == 0 { return socket }
                code = soError
            }
            switch code {
            case ECONNREFUSED: lastError = NBDError(.refused, "\(peer): connection refused (nobody listens)")
            case EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL:
                lastError = NBDError(.noServer, "\(peer): \(errorText(code))")
            case ETIMEDOUT: lastError = NBDError(.stalled, "\(peer): connect timed out")
            default: lastError = NBDError(.system, "\(peer): connect: \(errorText(code))")
            }
        }
        throw lastError
    }

    /// Waits until the socket is ready for `events`, at most until the deadline, in slices so cancellation is seen.
    func wait(for events: Int16, step: String) throws(NBDError) {
        let clock = ContinuousClock()
        while true {
            if cancellation.isRaised { throw NBDError(.cancelled, "\(peer): cancelled while \(step)") }
            let left = deadline - clock.now
            guard left > .zero else { throw NBDError(.stalled, "\(peer): no answer while \(step) (the server stalls)") }
            let slice = Int32(max(1, min(50, left.wholeMilliseconds)))
            var descriptor = pollfd(fd: self.descriptor, events: events, revents: 0)
            let ready = poll(&descriptor, 1, slice)
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw NBDError(.system, "\(peer): poll: \(Self.errorText(errno))") }
        }
    }

    /// Reads exactly `count` bytes (the caller bounds `count`).
    func read(exactly count: Int, step: String) throws(NBDError) -> [UInt8] {
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
                throw NBDError(.closed, "\(peer): the server hung up while \(step) (after \(offset) of \(count) bytes)")
            }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLIN), step: step)
            case ECONNRESET: throw NBDError(.closed, "\(peer): the server reset the connection while \(step)")
            default: throw NBDError(.system, "\(peer): read: \(Self.errorText(code))")
            }
        }
        return buffer
    }

    /// Writes all of `bytes`; a peer that never reads is a stall.
    func write(_ bytes: [UInt8], step: String) throws(NBDError) {
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
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLOUT), step: step)
            case EPIPE, ECONNRESET: throw NBDError(.closed, "\(peer): the server hung up while \(step)")
            default: throw NBDError(.system, "\(peer): write: \(Self.errorText(code))")
            }
        }
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Raised by the async caller when its task is cancelled; the blocking side checks it between polls.
final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

extension Duration {
    var wholeMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }

    /// The duration in seconds as a `Double`.
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

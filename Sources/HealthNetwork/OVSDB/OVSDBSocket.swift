import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A connected unix stream socket that delivers whole JSON texts without tying up a thread of the cooperative pool:
/// the descriptor is non-blocking and a `DispatchSourceRead` on a private serial queue reads what is there.
final class OVSDBSocket: Sendable {
    /// What the socket reports to its owner, in order, on its queue.
    enum Event: Sendable {
        case message([UInt8])
        /// The socket is closed (peer, error or ``close(_:)``); no event follows.
        case closed(NetworkError)
    }

    private struct State {
        var open = true
        var framer: JSONStreamFramer
        var handler: (@Sendable (Event) -> Void)?
    }

    let path: String
    private let queue = DispatchQueue(label: "hive-health.ovsdb")
    private let descriptor: Int32
    private let state: Mutex<State>
    // Dispatch sources are thread-safe: resume, cancel and the handlers may be used from any thread.
    private nonisolated(unsafe) let source: any DispatchSourceRead

    init(path: String, maxMessageBytes: Int, handler: @escaping @Sendable (Event) -> Void) throws(NetworkError) {
        self.path = path
        self.descriptor = try UnixSocketAddress.connect(path)
        self.state = Mutex(State(framer: JSONStreamFramer(maxBytes: maxMessageBytes), handler: handler))
        self.source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        let fd = descriptor
        source.setEventHandler { [weak self] in self?.readAvailable() }
        source.setCancelHandler { _ = Glibc.close(fd) }
        source.resume()
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        // Bounded per wake-up, so one busy socket does not starve the queue.
        for _ in 0..<64 {
            guard state.withLock({ $0.open }) else { return }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                let result = state.withLock { state -> Result<[[UInt8]], NetworkError> in
                    do throws(NetworkError) {
                        return .success(try state.framer.feed(chunk[0..<count]))
                    } catch {
                        return .failure(error)
                    }
                }
                switch result {
                case .success(let texts):
                    let handler = state.withLock { $0.handler }
                    for text in texts { handler?(.message(text)) }
                case .failure(let error):
                    finish(NetworkError(error.code, "\(path): \(error.message)"))
                    return
                }
                continue
            }
            if count == 0 {
                finish(NetworkError(.closed, "\(path): the server closed the connection"))
                return
            }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK { return }
            if code == EINTR { continue }
            finish(NetworkError(.closed, "\(path): read: \(String(cString: strerror(code)))"))
            return
        }
    }

    private func finish(_ error: NetworkError) {
        let handler = state.withLock { state -> (@Sendable (Event) -> Void)? in
            guard state.open else { return nil }
            state.open = false
            defer { state.handler = nil }
            return state.handler
        }
        guard let handler else { return }
        source.cancel()
        handler(.closed(error))
    }

    /// Closes the socket; the handler sees `.closed(error)` unless it is closed already.
    func close(_ error: NetworkError) {
        queue.async { self.finish(error) }
    }

    deinit {
        if !source.isCancelled { source.cancel() }
    }

    /// Writes `bytes` on the socket's queue, waiting for room at most `timeout`; a server that never reads closes
    /// the connection instead of hanging it.
    func send(_ bytes: [UInt8], timeout: Duration) {
        queue.async {
            guard self.state.withLock({ $0.open }) else { return }
            if let error = self.writeAll(bytes, timeout: timeout) { self.finish(error) }
        }
    }

    private func writeAll(_ bytes: [UInt8], timeout: Duration) -> NetworkError? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
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
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else {
                return NetworkError(.closed, "\(path): write: \(String(cString: strerror(code)))")
            }
            let left = deadline - clock.now
            guard left > .zero else { return NetworkError(.timeout, "\(path): the server does not read") }
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pollDescriptor, 1, Int32(min(100, max(1, left.components.seconds * 1000 + 1))))
        }
        return nil
    }
}

/// Connecting a non-blocking unix stream socket.
enum UnixSocketAddress {
    static func connect(_ path: String) throws(NetworkError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw NetworkError(.invalid, "socket path '\(path)' is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw NetworkError(.system, "\(path): socket: \(String(cString: strerror(errno)))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return fd }
        let code = errno
        _ = Glibc.close(fd)
        switch code {
        case ENOENT: throw NetworkError(.missing, "\(path): no such socket")
        case ECONNREFUSED: throw NetworkError(.refused, "\(path): connection refused (ovsdb-server not running?)")
        case EACCES, EPERM: throw NetworkError(.permission, "\(path): permission denied")
        default: throw NetworkError(.system, "\(path): connect: \(String(cString: strerror(code)))")
        }
    }
}

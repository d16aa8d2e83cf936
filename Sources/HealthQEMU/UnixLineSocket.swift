import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A connected unix stream socket that reads newline-terminated lines without tying up a thread of the cooperative
/// pool: the descriptor is non-blocking, a `DispatchSourceRead` on a private serial queue reads what is there, and
/// every line is handed to `handler` on that queue. A line longer than `maxLineBytes` closes the socket.
final class UnixLineSocket: Sendable {
    /// What the socket reports to its owner.
    enum Event: Sendable {
        case line([UInt8])
        /// The socket is closed (by the peer, by an error, or by ``close(_:)``); no event follows.
        case closed(QEMUError)
    }

    private struct State {
        var open = true
        var buffer: [UInt8] = []
        var handler: (@Sendable (Event) -> Void)?
    }

    let path: String
    let maxLineBytes: Int
    let queue: DispatchQueue
    private let descriptor: Int32
    private let state: Mutex<State>
    // Dispatch sources are thread-safe (resume, cancel and the handlers may be used from any thread).
    private nonisolated(unsafe) let source: any DispatchSourceRead

    /// Connects to `path` (non-blocking: a unix socket connects at once or fails) and starts reading.
    init(path: String, maxLineBytes: Int, handler: @escaping @Sendable (Event) -> Void) throws(QEMUError) {
        self.path = path
        self.maxLineBytes = maxLineBytes
        self.queue = DispatchQueue(label: "hive-health.socket")
        self.descriptor = try Self.connect(path)
        self.state = Mutex(State(handler: handler))
        self.source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        let fd = descriptor
        source.setEventHandler { [weak self] in self?.readAvailable() }
        source.setCancelHandler { _ = Glibc.close(fd) }
        source.resume()
    }

    /// Connects to `path` and closes at once.
    static func probeConnect(_ path: String) throws(QEMUError) {
        let fd = try connect(path)
        _ = Glibc.close(fd)
    }

    private static func connect(_ path: String) throws(QEMUError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw QEMUError(.system, "socket path '\(path)' is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw QEMUError(.system, "\(path): socket: \(String(cString: strerror(errno)))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return fd }
        let code = errno
        _ = Glibc.close(fd)
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT: throw QEMUError(.missing, "\(path): no such socket")
        case ECONNREFUSED: throw QEMUError(.refused, "\(path): connection refused (nobody listens)")
        case EAGAIN: throw QEMUError(.timeout, "\(path): the listener's backlog is full (\(reason))")
        default: throw QEMUError(.system, "\(path): connect: \(reason)")
        }
    }

    /// Called on `queue` when the descriptor is readable: reads a bounded amount, then yields to other sockets.
    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 {
            guard state.withLock({ $0.open }) else { return }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                consume(chunk[0..<count])
                continue
            }
            if count == 0 {
                finish(QEMUError(.closed, "\(path): the peer closed the connection"))
                return
            }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK { return }
            if code == EINTR { continue }
            if code == ECONNRESET {
                finish(QEMUError(.closed, "\(path): the peer reset the connection"))
                return
            }
            finish(QEMUError(.system, "\(path): read: \(String(cString: strerror(code)))"))
            return
        }
    }

    private func consume(_ bytes: ArraySlice<UInt8>) {
        var lines: [[UInt8]] = []
        let overflow = state.withLock { state -> Bool in
            var start = bytes.startIndex
            while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = state.buffer
                line.append(contentsOf: bytes[start..<newline])
                state.buffer.removeAll(keepingCapacity: true)
                start = newline + 1
                if line.count > maxLineBytes { return true }
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if !line.isEmpty { lines.append(line) }
            }
            state.buffer.append(contentsOf: bytes[start...])
            return state.buffer.count > maxLineBytes
        }
        let handler = state.withLock { $0.handler }
        for line in lines { handler?(.line(line)) }
        if overflow {
            finish(QEMUError(.lineTooLong, "\(path): the peer sent a line over \(maxLineBytes) bytes"))
        }
    }

    /// Closes on `queue`; reports `error` to the handler once.
    private func finish(_ error: QEMUError) {
        let (wasOpen, handler) = state.withLock { state -> (Bool, (@Sendable (Event) -> Void)?) in
            guard state.open else { return (false, nil) }
            state.open = false
            state.buffer = []
            defer { state.handler = nil }
            return (true, state.handler)
        }
        guard wasOpen else { return }
        source.cancel()
        handler?(.closed(error))
    }

    /// Closes the socket; the handler sees `.closed(error)` unless it is closed already.
    func close(_ error: QEMUError) {
        queue.async { self.finish(error) }
    }

    deinit {
        // An owner that forgot to close: cancelling the source closes the descriptor.
        if !source.isCancelled { source.cancel() }
    }

    var isOpen: Bool { state.withLock { $0.open } }

    /// Writes `bytes` on the socket's queue, waiting for room at most `timeout`, then calls `completion` (nil on
    /// success). A peer that never reads makes this fail, not hang.
    func send(_ bytes: [UInt8], timeout: Duration, completion: @escaping @Sendable (QEMUError?) -> Void) {
        queue.async {
            completion(self.writeAll(bytes, timeout: timeout))
        }
    }

    private func writeAll(_ bytes: [UInt8], timeout: Duration) -> QEMUError? {
        // Checked on the queue, where the cancel handler closes the descriptor: never a write to a reused number.
        guard state.withLock({ $0.open }) else { return QEMUError(.closed, "\(path): the connection is closed") }
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
            if code == EPIPE || code == ECONNRESET { return QEMUError(.closed, "\(path): the peer hung up") }
            guard code == EAGAIN || code == EWOULDBLOCK else {
                return QEMUError(.system, "\(path): write: \(String(cString: strerror(code)))")
            }
            let left = deadline - clock.now
            guard left > .zero else { return QEMUError(.timeout, "\(path): the peer does not read (write timed out)") }
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pollDescriptor, 1, Int32(min(100, max(1, left.milliseconds))))
        }
        return nil
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }

    var dispatchInterval: DispatchTimeInterval { .milliseconds(Int(clamping: max(0, milliseconds))) }
}

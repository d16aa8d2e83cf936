import Foundation
import Synchronization

/// A unix-socket server for hostile-peer tests: each accepted connection is handed to `script` on a thread of its
/// own. Only for what a real QEMU or agent cannot be made to do (garbage, floods, silence).
public final class FakeUnixPeer: Sendable {
    /// One accepted connection, with blocking helpers bounded by time.
    public struct Connection: Sendable {
        public let descriptor: Int32

        /// Writes all of `text` (false when the client went away).
        @discardableResult
        public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

        @discardableResult
        public func send(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes {
                    Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if written <= 0 { return false }
                offset += written
            }
            return true
        }

        /// Reads one line (without the newline), nil on close or after `timeout`.
        public func readLine(timeout: Duration = .seconds(10)) -> String? {
            var line: [UInt8] = []
            let deadline = ContinuousClock.now.advanced(by: timeout)
            var byte: UInt8 = 0
            while ContinuousClock.now < deadline, line.count < 1 << 20 {
                var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptorPoll, 1, 50) >= 0 else { return nil }
                if descriptorPoll.revents == 0 { continue }
                guard read(descriptor, &byte, 1) == 1 else { return nil }
                if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
                line.append(byte)
            }
            return nil
        }

        /// Waits until the client closes, for at most `timeout`.
        public func waitForClose(timeout: Duration = .seconds(10)) {
            let deadline = ContinuousClock.now.advanced(by: timeout)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline {
                var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptorPoll, 1, 50) >= 0 else { return }
                if descriptorPoll.revents == 0 { continue }
                if read(descriptor, &buffer, buffer.count) <= 0 { return }
            }
        }
    }

    public let path: String
    private let stopped = Atomic<Bool>(false)
    private let accepted = Atomic<Int>(0)
    private let listening = Atomic<Bool>(true)

    /// Listens on `path` and runs `script` for every connection (then closes it).
    public init(path: String, script: @escaping @Sendable (Connection) -> Void) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
            raw[min(bytes.count, raw.count - 1)] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRINUSE)
        }
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                var descriptorPoll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptorPoll, 1, 50) >= 0 else { return }
                if descriptorPoll.revents == 0 { continue }
                let client = accept(fd, nil, nil)
                if client < 0 { continue }
                accepted.add(1, ordering: .relaxed)
                let worker = Thread {
                    script(Connection(descriptor: client))
                    close(client)
                }
                worker.start()
            }
            close(fd)
            listening.store(false, ordering: .relaxed)
        }
        thread.start()
    }

    /// Whether the listening socket is still open.
    public var isListening: Bool { listening.load(ordering: .relaxed) }

    /// Stops accepting but leaves the socket file: a stale socket nobody listens on (connect is refused).
    public func stopKeepingFile() { stopped.store(true, ordering: .relaxed) }

    /// How many connections were accepted so far.
    public var connections: Int { accepted.load(ordering: .relaxed) }

    /// Stops accepting and removes the socket file (connections in progress finish their scripts).
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        // The accept thread sees `stopped` within one poll and closes the listener itself.
        unlink(path)
    }
}

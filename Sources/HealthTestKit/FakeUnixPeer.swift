import Foundation
import HealthIO
import Synchronization

/// A unix-socket server for hostile-peer tests: each accepted connection is handed to `script` on a thread of its
/// own. Only for what a real QEMU or agent cannot be made to do (garbage, floods, silence). Built on HealthIO's
/// ``UnixListener`` and ``StreamSocket``, like the clients it tests.
public final class FakeUnixPeer: Sendable {
    /// One accepted connection, with blocking helpers bounded by time.
    public struct Connection: Sendable {
        public let socket: StreamSocket

        /// The connection's descriptor.
        public var descriptor: Int32 { socket.descriptor }

        /// Writes all of `text` (false when the client went away or stopped reading for 30 s).
        @discardableResult
        public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

        @discardableResult
        public func send(_ bytes: [UInt8]) -> Bool {
            (try? socket.write(bytes, deadline: .now.advanced(by: .seconds(30)), step: "sending")) != nil
        }

        /// Reads exactly `count` bytes, nil on close or after `timeout`.
        public func read(exactly count: Int, timeout: Duration = .seconds(5)) -> [UInt8]? {
            try? socket.read(exactly: count, deadline: .now.advanced(by: timeout), step: "reading")
        }

        /// Reads one line (without the newline), nil on close or after `timeout`.
        public func readLine(timeout: Duration = .seconds(10)) -> String? {
            var line: [UInt8] = []
            let deadline = ContinuousClock.now.advanced(by: timeout)
            while line.count < 1 << 20 {
                // A byte at a time: what follows the line stays unread for the next call.
                guard let byte = try? socket.read(upTo: 1, deadline: deadline, step: "reading a line").first else {
                    return nil
                }
                if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
                line.append(byte)
            }
            return nil
        }

        /// Waits until the client closes, for at most `timeout`.
        public func waitForClose(timeout: Duration = .seconds(10)) {
            let deadline = ContinuousClock.now.advanced(by: timeout)
            while let bytes = try? socket.read(upTo: 4096, deadline: deadline, step: "waiting"), !bytes.isEmpty {}
        }
    }

    public let path: String
    private let stopped = Atomic<Bool>(false)
    private let accepted = Atomic<Int>(0)
    private let listening = Atomic<Bool>(true)

    /// Listens on `path` and runs `script` for every connection (then closes it).
    public init(path: String, script: @escaping @Sendable (Connection) -> Void) throws {
        self.path = path
        let listener = try UnixListener(path: path)
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                let next: StreamSocket?
                do {
                    next = try listener.accept(timeout: .milliseconds(50))
                } catch {
                    usleep(10_000)
                    continue
                }
                guard let client = next else { continue }
                accepted.add(1, ordering: .relaxed)
                let worker = Thread {
                    script(Connection(socket: client))
                    client.close()
                }
                worker.start()
            }
            listener.close()
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

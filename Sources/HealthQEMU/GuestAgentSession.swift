import Foundation
import HealthCore
import HealthIO
import Logging
import Synchronization

/// One short session with a QEMU guest agent over its chardev socket: `guest-sync` first, then commands in
/// lockstep, then ``close()``.
///
/// The agent serves one client and may have stale replies of an earlier client queued: ``synchronize(timeout:)``
/// sends `guest-sync` with a fresh random id and discards lines until the echo of that id arrives. Everything the
/// guest sends is untrusted: lines are limited to ``maxLineBytes``, the lines discarded to ``maxStaleLines``, every
/// wait to its timeout.
public final class GuestAgentSession: Sendable {
    /// The longest line accepted from the guest (1 MiB).
    public static let maxLineBytes = 1 << 20
    /// Stale lines discarded before `guest-sync`'s echo before giving up.
    public static let maxStaleLines = 1000
    /// Lines kept unread; a guest that floods beyond this closes the session.
    static let maxQueuedLines = 256

    private typealias Waiter = CheckedContinuation<Result<[UInt8], QEMUError>, Never>

    private struct State {
        var lines: [[UInt8]] = []
        var closed: QEMUError?
        var waiter: (id: Int, continuation: Waiter)?
        var nextWaiter = 0
    }

    public let path: String
    private let state = Mutex(State())
    private let socket = Mutex<FramedSocket?>(nil)
    private let logger: Logger

    private init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Connects to the agent's socket (no I/O beyond `connect`).
    public static func open(path: String, logger: Logger) throws(QEMUError) -> GuestAgentSession {
        let session = GuestAgentSession(path: path, logger: logger)
        let socket = try FramedSocket.qemu(path: path, maxLineBytes: maxLineBytes) { [weak session] event in
            session?.handle(event)
        }
        session.socket.withLock { $0 = socket }
        return session
    }

    /// `guest-sync` with a fresh random id; stale lines before its echo are discarded. Returns how many were.
    @discardableResult
    public func synchronize(timeout: Duration) async throws(QEMUError) -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let token = Int.random(in: 1...Int(Int32.max))
        try await write(
            ["execute": .string("guest-sync"), "arguments": .object(["id": .number(Double(token))])],
            timeout: timeout)
        var discarded = 0
        while discarded <= Self.maxStaleLines {
            let line = try await nextLine(timeout: deadline - clock.now, waitingFor: "guest-sync")
            if let reply = QMPValue.parse(line), reply["return"]?.number == Double(token) { return discarded }
            discarded += 1
        }
        throw QEMUError(.protocolViolation, "\(path): no echo of guest-sync among \(Self.maxStaleLines) lines")
    }

    /// Runs `command` (after ``synchronize(timeout:)``) and returns its `return` value.
    public func execute(_ command: String, arguments: [String: QMPValue]? = nil, timeout: Duration)
        async throws(QEMUError) -> QMPValue
    {
        var message: [String: QMPValue] = ["execute": .string(command)]
        if let arguments { message["arguments"] = .object(arguments) }
        try await write(message, timeout: timeout)
        let line = try await nextLine(timeout: timeout, waitingFor: command)
        guard let reply = QMPValue.parse(line), case .object = reply else {
            let sample = String(decoding: line.prefix(60), as: UTF8.self)
            throw QEMUError(.protocolViolation, "\(path): \(command): the agent answered garbage: '\(sample)'")
        }
        if let value = reply["return"] { return value }
        if let error = reply["error"] {
            let kind = error["class"]?.string ?? "Error"
            let text = error["desc"]?.string ?? error.json
            throw QEMUError(.commandFailed, "\(command): \(kind): \(String(text.prefix(300)))")
        }
        throw QEMUError(.protocolViolation, "\(path): \(command): a reply with neither return nor error")
    }

    /// Closes the socket; call it when done, the agent serves one client.
    public func close() {
        socket.withLock { $0 }?.close(QEMUError(.closed, "\(path): session closed by hive-health"))
    }

    deinit {
        socket.withLock { $0 }?.close(QEMUError(.closed, "session released"))
    }

    private func write(_ message: [String: QMPValue], timeout: Duration) async throws(QEMUError) {
        guard let socket = socket.withLock({ $0 }) else { throw QEMUError(.closed, "\(path): not connected") }
        let bytes = Array((QMPValue.object(message).json + "\n").utf8)
        let error = await withCheckedContinuation { (continuation: CheckedContinuation<QEMUError?, Never>) in
            socket.send(bytes, timeout: timeout) { continuation.resume(returning: $0.map(QEMUError.init)) }
        }
        if let error { throw error }
    }

    private func nextLine(timeout: Duration, waitingFor command: String) async throws(QEMUError) -> [UInt8] {
        guard timeout > .zero else { throw QEMUError(.timeout, "\(path): no answer to \(command) in time") }
        guard let socket = socket.withLock({ $0 }) else { throw QEMUError(.closed, "\(path): not connected") }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let (ready, id) = state.withLock { state -> (Result<[UInt8], QEMUError>?, Int) in
                    if !state.lines.isEmpty { return (.success(state.lines.removeFirst()), 0) }
                    if let closed = state.closed { return (.failure(closed), 0) }
                    state.nextWaiter += 1
                    state.waiter = (state.nextWaiter, continuation)
                    return (nil, state.nextWaiter)
                }
                if let ready {
                    continuation.resume(returning: ready)
                    return
                }
                socket.schedule(after: timeout) { [self] in
                    wake(id, .failure(QEMUError(.timeout, "\(path): no answer to \(command) within \(timeout)")))
                }
            }
        } onCancel: {
            wake(nil, .failure(QEMUError(.cancelled, "\(path): \(command): cancelled")))
        }
        return try result.get()
    }

    /// Resumes the waiter `id` (any waiter when nil) with `result`.
    private func wake(_ id: Int?, _ result: Result<[UInt8], QEMUError>) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiter, id == nil || waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: result)
    }

    private func handle(_ event: FramedSocket.Event) {
        switch event {
        case .frame(let line):
            let (waiter, overflow) = state.withLock { state -> (Waiter?, Bool) in
                if let waiter = state.waiter {
                    state.waiter = nil
                    return (waiter.continuation, false)
                }
                state.lines.append(line)
                return (nil, state.lines.count > Self.maxQueuedLines)
            }
            waiter?.resume(returning: .success(line))
            if overflow {
                socket.withLock { $0 }?.close(
                    QEMUError(.protocolViolation, "\(path): the agent floods (over \(Self.maxQueuedLines) lines)"))
            }
        case .closed(let closed):
            let error = QEMUError(closed)
            let waiter = state.withLock { state -> Waiter? in
                state.closed = state.closed ?? error
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
            waiter?.resume(returning: .failure(error))
        }
    }
}

import Foundation
import HealthCore
import HealthIO
import Logging
import Synchronization

/// One client connection to a QEMU monitor (QMP) socket: greeting and `qmp_capabilities`, commands matched to their
/// replies by `id`, and the events QEMU pushes, for as many subscribers as want them.
///
/// Everything the peer sends is bounded: a line over ``maxLineBytes``, a line that is not JSON, or no greeting
/// within the connect timeout closes the connection with a ``QEMUError``; every command has a deadline. Once
/// closed, a connection stays closed: ``QMPConnectionPool`` makes a new one.
///
/// - Important: QEMU serves one client per QMP socket. Share connections through ``QMPConnectionPool`` rather than
///   connecting per check run.
public final class QMPConnection: Sendable {
    /// The longest line accepted from QEMU (1 MiB).
    public static let maxLineBytes = 1 << 20
    /// Events kept for ``recentEvents``.
    public static let recentEventLimit = 32

    private enum Phase {
        case greeting
        case negotiating
        case ready
        case closed(QEMUError)
    }

    private typealias Waiter = CheckedContinuation<Result<QMPValue, QEMUError>, Never>

    private struct State {
        var phase = Phase.greeting
        var greetingWaiter: Waiter?
        var greeting: QMPValue?
        var pending: [Int: Waiter] = [:]
        var nextID = 0
        var subscribers: [Int: AsyncStream<QMPEvent>.Continuation] = [:]
        var nextSubscriber = 0
        var recentEvents: [QMPEvent] = []
    }

    /// The socket this connection talks to.
    public let path: String
    /// When the connection was established.
    public let connectedAt: Date
    private let state = Mutex(State())
    private let socket = Mutex<FramedSocket?>(nil)
    private let logger: Logger

    private init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
        self.connectedAt = Date()
    }

    /// Connects, waits for the greeting and negotiates capabilities, within `timeout` (at most 1.5 times it).
    public static func connect(path: String, timeout: Duration, logger: Logger) async throws(QEMUError)
        -> QMPConnection
    {
        let clock = ContinuousClock()
        let start = clock.now
        let connection = QMPConnection(path: path, logger: logger)
        let socket = try FramedSocket.qemu(path: path, maxLineBytes: maxLineBytes) { [weak connection] event in
            connection?.handle(event)
        }
        connection.socket.withLock { $0 = socket }
        do throws(QEMUError) {
            _ = try await connection.waitForGreeting(timeout: timeout)
            // The rest of the budget, but never less than half of it: a slow greeting must not starve the handshake.
            let left = max(timeout - (clock.now - start), timeout / 2)
            _ = try await connection.send("qmp_capabilities", arguments: nil, timeout: left)
            connection.state.withLock { state in
                if case .negotiating = state.phase { state.phase = .ready }
            }
            return connection
        } catch {
            connection.close()
            throw error
        }
    }

    /// QEMU's greeting (`{"QMP": {"version": ...}}`).
    public var greeting: QMPValue? { state.withLock { $0.greeting } }

    /// Whether the connection is still usable.
    public var isOpen: Bool {
        state.withLock { state in
            if case .closed = state.phase { return false }
            return true
        }
    }

    /// Why the connection closed, nil while it is open.
    public var closeReason: QEMUError? {
        state.withLock { state in
            if case .closed(let error) = state.phase { return error }
            return nil
        }
    }

    /// How many ``events()`` streams are open.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// The last events received (at most ``recentEventLimit``), oldest first.
    public var recentEvents: [QMPEvent] { state.withLock { $0.recentEvents } }

    /// Runs `command` and returns its `return` value; a QMP error reply is ``QEMUError/Code/commandFailed``.
    public func execute(_ command: String, arguments: [String: QMPValue]? = nil, timeout: Duration)
        async throws(QEMUError) -> QMPValue
    {
        try await send(command, arguments: arguments, timeout: timeout)
    }

    /// The events QEMU sends from now on. The stream ends when the connection closes (check ``closeReason``).
    /// A subscriber that does not keep up loses the oldest events beyond 256.
    public func events() -> AsyncStream<QMPEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: QMPEvent.self, bufferingPolicy: .bufferingNewest(256))
        let id = state.withLock { state -> Int? in
            if case .closed = state.phase { return nil }
            state.nextSubscriber += 1
            state.subscribers[state.nextSubscriber] = continuation
            return state.nextSubscriber
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Closes the connection; waiting commands fail, event streams end.
    public func close() {
        let error = QEMUError(.closed, "\(path): connection closed by hive-health")
        // Closed for callers at once; the socket itself closes on its queue.
        fail(error)
        socket.withLock { $0 }?.close(error)
    }

    // MARK: - Internals

    private func waitForGreeting(timeout: Duration) async throws(QEMUError) -> QMPValue {
        let result = await withCheckedContinuation { (waiter: Waiter) in
            let ready = state.withLock { state -> Result<QMPValue, QEMUError>? in
                if case .closed(let error) = state.phase { return .failure(error) }
                if let greeting = state.greeting { return .success(greeting) }
                state.greetingWaiter = waiter
                return nil
            }
            if let ready {
                waiter.resume(returning: ready)
                return
            }
            socket.withLock { $0 }?.schedule(after: timeout) { [self] in
                let late = state.withLock { state -> Waiter? in
                    defer { state.greetingWaiter = nil }
                    return state.greetingWaiter
                }
                late?.resume(
                    returning: .failure(
                        QEMUError(
                            .timeout,
                            "\(path): no QMP greeting within \(timeout) (another client may hold the monitor)")))
            }
        }
        return try result.get()
    }

    private func send(_ command: String, arguments: [String: QMPValue]?, timeout: Duration)
        async throws(QEMUError) -> QMPValue
    {
        if Task.isCancelled { throw QEMUError(.cancelled, "\(path): \(command): cancelled") }
        guard let socket = socket.withLock({ $0 }) else { throw QEMUError(.closed, "\(path): not connected") }
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        var message: [String: QMPValue] = ["execute": .string(command), "id": .number(Double(id))]
        if let arguments { message["arguments"] = .object(arguments) }
        let bytes = Array((QMPValue.object(message).json + "\n").utf8)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                let closed = state.withLock { state -> QEMUError? in
                    if case .closed(let error) = state.phase { return error }
                    state.pending[id] = waiter
                    return nil
                }
                if let closed {
                    waiter.resume(returning: .failure(closed))
                    return
                }
                socket.send(bytes, timeout: timeout) { [self] error in
                    if let error { resolve(id, .failure(QEMUError(error))) }
                }
                socket.schedule(after: timeout) { [self] in
                    resolve(id, .failure(QEMUError(.timeout, "\(path): no reply to \(command) within \(timeout)")))
                }
            }
        } onCancel: {
            resolve(id, .failure(QEMUError(.cancelled, "\(path): \(command): cancelled")))
        }
        return try result.get()
    }

    private func resolve(_ id: Int, _ result: Result<QMPValue, QEMUError>) {
        state.withLock { $0.pending.removeValue(forKey: id) }?.resume(returning: result)
    }

    private func handle(_ event: FramedSocket.Event) {
        switch event {
        case .closed(let error): fail(QEMUError(error))
        case .frame(let line): handle(line: line)
        }
    }

    private func handle(line: [UInt8]) {
        guard let message = QMPValue.parse(line), case .object = message else {
            let sample = String(decoding: line.prefix(60), as: UTF8.self).filter { !$0.isNewline }
            protocolViolation("not a JSON object: '\(sample)'")
            return
        }
        if message["QMP"] != nil {
            let waiter = state.withLock { state -> Waiter? in
                guard case .greeting = state.phase else { return nil }
                state.phase = .negotiating
                state.greeting = message
                defer { state.greetingWaiter = nil }
                return state.greetingWaiter
            }
            waiter?.resume(returning: .success(message))
            return
        }
        if let qmpEvent = QMPEvent(message) {
            let subscribers = state.withLock { state in
                state.recentEvents.append(qmpEvent)
                if state.recentEvents.count > Self.recentEventLimit { state.recentEvents.removeFirst() }
                return Array(state.subscribers.values)
            }
            logger.debug("QMP event", metadata: ["socket": "\(path)", "event": "\(qmpEvent.name)"])
            for subscriber in subscribers { subscriber.yield(qmpEvent) }
            return
        }
        guard let id = message["id"]?.number, let key = Int(exactly: id) else {
            logger.debug("QMP: ignoring a message without id", metadata: ["socket": "\(path)"])
            return
        }
        if let value = message["return"] {
            resolve(key, .success(value))
        } else if let error = message["error"] {
            let kind = error["class"]?.string ?? "Error"
            let text = error["desc"]?.string ?? error.json
            resolve(key, .failure(QEMUError(.commandFailed, "\(kind): \(String(text.prefix(300)))")))
        } else {
            protocolViolation("a reply with neither return nor error")
        }
    }

    private func protocolViolation(_ reason: String) {
        let error = QEMUError(.protocolViolation, "\(path): protocol violation: \(reason)")
        logger.warning("QMP peer misbehaves; closing", metadata: ["socket": "\(path)", "reason": "\(reason)"])
        if let socket = socket.withLock({ $0 }) {
            socket.close(error)
        } else {
            fail(error)
        }
    }

    private func fail(_ error: QEMUError) {
        let (greeting, pending, subscribers) = state.withLock {
            state -> (Waiter?, [Waiter], [AsyncStream<QMPEvent>.Continuation]) in
            if case .closed = state.phase { return (nil, [], []) }
            state.phase = .closed(error)
            defer {
                state.greetingWaiter = nil
                state.pending = [:]
                state.subscribers = [:]
            }
            return (state.greetingWaiter, Array(state.pending.values), Array(state.subscribers.values))
        }
        greeting?.resume(returning: .failure(error))
        for waiter in pending { waiter.resume(returning: .failure(error)) }
        for subscriber in subscribers { subscriber.finish() }
    }
}

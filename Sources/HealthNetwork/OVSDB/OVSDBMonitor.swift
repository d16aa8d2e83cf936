import HealthCore
import HealthIO
import Logging
import Synchronization

/// A live view of OVS's Interface, Port and Bridge tables over one OVSDB JSON-RPC connection (RFC 7047 `monitor`).
///
/// One monitor per database socket serves the whole daemon (``shared(socketPath:logger:)``): the server pushes
/// every change, so a check is a lookup in memory, with no request and no process per check. A lost connection is
/// retried with exponential backoff (100 ms doubling to 5 s); until the view is in sync again lookups say why they
/// cannot answer.
///
/// - Important: The server is untrusted input: a message over `maxMessageBytes` or anything that is not JSON-RPC
///   closes the connection (and the monitor reconnects).
public actor OVSDBMonitor {
    /// The answer to a lookup.
    public enum Lookup: Sendable, Hashable {
        /// The view is in sync: the interface's status, or nil when there is no such interface.
        case found(OVSInterfaceStatus?)
        /// The view is not in sync (no connection, or not yet): why.
        case unavailable(NetworkError)
    }

    public nonisolated let socketPath: String
    private let maxMessageBytes: Int
    private let logger: Logger
    private let initialBackoff: Duration
    private let maxBackoff: Duration

    private var tables = OVSTables()
    private var synced = false
    /// A connection is open (or being opened) and not yet in sync: worth waiting for.
    private var connecting = false
    private var lastError = NetworkError(.closed, "not connected yet")
    private var loop: Task<Void, Never>?
    private var socket: FramedSocket?
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0
    /// Connections made so far (tests watch reconnects).
    public private(set) var connections = 0
    private static let monitorID = "hive-health-monitor"

    public init(
        socketPath: String, logger: Logger, maxMessageBytes: Int = 64 << 20,
        initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(5)
    ) {
        self.socketPath = socketPath
        self.logger = logger
        self.maxMessageBytes = maxMessageBytes
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The interface named `name`, waiting at most `timeout` for the view to be in sync while a connection is
    /// being made (first use, reconnect); while the server is down it answers at once.
    public func interface(named name: String, timeout: Duration) async -> Lookup {
        startIfNeeded()
        if !synced, connecting { await waitForSync(timeout: timeout) }
        guard synced else { return .unavailable(lastError) }
        return .found(tables.status(ofInterface: name))
    }

    /// A copy of the whole view, or why there is none (benchmarks, tests).
    public func snapshot(timeout: Duration) async -> Result<OVSTables, NetworkError> {
        startIfNeeded()
        if !synced, connecting { await waitForSync(timeout: timeout) }
        return synced ? .success(tables) : .failure(lastError)
    }

    /// Stops the connection and its reconnect loop (tests; the daemon's monitors live as long as it does).
    public func shutdown() {
        loop?.cancel()
        loop = nil
        socket?.close(IOError(.closed, "monitor shut down"))
        socket = nil
        synced = false
        resumeWaiters()
    }

    private func startIfNeeded() {
        guard loop == nil else { return }
        connecting = true
        loop = Task { [weak self] in await self?.run() }
    }

    private func waitForSync(timeout: Duration) async {
        let id = nextWaiter
        nextWaiter += 1
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.resumeWaiter(id)
        }
        await withCheckedContinuation { continuation in
            if synced || Task.isCancelled {
                continuation.resume()
            } else {
                waiters[id] = continuation
            }
        }
        timer.cancel()
    }

    private func resumeWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume()
    }

    private func resumeWaiters() {
        let pending = waiters
        waiters = [:]
        for continuation in pending.values { continuation.resume() }
    }

    private func run() async {
        var delay = initialBackoff
        while !Task.isCancelled {
            let (events, continuation) = AsyncStream<FramedSocket.Event>.makeStream()
            connecting = true
            do throws(IOError) {
                let socket = try FramedSocket(
                    unixPath: socketPath, framer: JSONStreamFramer(maxBytes: maxMessageBytes)
                ) { event in
                    continuation.yield(event)
                    if case .closed = event { continuation.finish() }
                }
                self.socket = socket
                connections += 1
                logger.debug("ovsdb connected", metadata: ["socket": "\(socketPath)"])
                Self.send(Self.monitorRequest, on: socket)
                for await event in events {
                    switch event {
                    case .frame(let bytes):
                        if handle(bytes, socket: socket) { delay = initialBackoff }
                    case .closed(let error):
                        lastError = NetworkError(error)
                    }
                }
            } catch {
                lastError = NetworkError(error)
            }
            socket = nil
            connecting = false
            if synced {
                logger.warning("ovsdb connection lost", metadata: ["socket": "\(socketPath)", "error": "\(lastError)"])
            }
            synced = false
            tables = OVSTables()
            resumeWaiters()
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            delay = min(delay * 2, maxBackoff)
        }
    }

    /// Handles one JSON-RPC message; true when it brought the view in sync.
    private func handle(_ bytes: [UInt8], socket: FramedSocket) -> Bool {
        guard let message = JSONValue.parse(bytes), case .object = message else {
            socket.close(IOError(.protocolViolation, "\(socketPath): a message that is not a JSON object"))
            return false
        }
        if let method = message["method"]?.string {
            switch method {
            case "update":
                if let params = message["params"]?.array, params.count == 2, let updates = params[1].object {
                    tables.apply(updates: updates)
                }
            case "echo":
                let reply: JSONValue = [
                    "id": message["id"] ?? .null, "result": message["params"] ?? [], "error": .null,
                ]
                Self.send(reply.jsonBytes, on: socket)
            default:
                break
            }
            return false
        }
        guard message["id"]?.string == Self.monitorID else { return false }
        if let error = message["error"] {
            let text = error.json.prefix(200)
            socket.close(IOError(.protocolViolation, "\(socketPath): monitor refused: \(text)"))
            return false
        }
        guard let result = message["result"]?.object else {
            socket.close(IOError(.protocolViolation, "\(socketPath): monitor reply without a result"))
            return false
        }
        tables = OVSTables()
        tables.apply(updates: result)
        synced = true
        connecting = false
        logger.debug(
            "ovsdb view in sync", metadata: ["socket": "\(socketPath)", "interfaces": "\(tables.interfaces.count)"])
        resumeWaiters()
        return true
    }

    /// Writes `bytes`, waiting for room at most 5 s; a server that never reads loses the connection (and the monitor
    /// reconnects) instead of hanging it.
    private static func send(_ bytes: [UInt8], on socket: FramedSocket) {
        socket.send(bytes, timeout: .seconds(5)) { error in
            if let error { socket.close(error) }
        }
    }

    private static let monitorRequest: [UInt8] = {
        func columns(_ names: [String]) -> JSONValue { ["columns": .array(names.map(JSONValue.string))] }
        let request: JSONValue = [
            "id": .string(monitorID), "method": "monitor",
            "params": [
                "Open_vSwitch", .null,
                [
                    "Interface": columns(OVSTables.interfaceColumns),
                    "Port": columns(OVSTables.portColumns),
                    "Bridge": columns(OVSTables.bridgeColumns),
                ],
            ],
        ]
        return request.jsonBytes
    }()
}

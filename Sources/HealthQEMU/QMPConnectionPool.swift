import Logging

/// One shared ``QMPConnection`` per monitor socket, reconnected when it closes.
///
/// QEMU serves one client per QMP socket, so every probe run and the event watcher of an instance go through the
/// same connection. Callers that ask while a connection is being made wait for that attempt instead of starting
/// another one.
///
/// The daemon's pool is handed to probes through their environment (`ProbeEnvironment.qmpConnections` in ProbeKit).
public actor QMPConnectionPool {
    private var connections: [String: QMPConnection] = [:]
    private var connecting: [String: Task<Result<QMPConnection, QEMUError>, Never>] = [:]

    public init() {}

    /// The open connection to `path`, made now (within `timeout`) when there is none. Only for hive-health's own
    /// monitors (``QMPMonitorRole/own``): a shared one is refused with ``QEMUError/Code/notOwnMonitor``, never held.
    public func connection(to path: String, timeout: Duration, logger: Logger) async throws(QEMUError)
        -> QMPConnection
    {
        guard QMPMonitorRole(path: path) == .own else {
            throw QEMUError(.notOwnMonitor, "\(path) is not hive-health's own monitor: it is never held open")
        }
        if let existing = connections[path] {
            if existing.isOpen { return existing }
            connections[path] = nil
        }
        let attempt: Task<Result<QMPConnection, QEMUError>, Never>
        if let running = connecting[path] {
            attempt = running
        } else {
            attempt = Task {
                do throws(QEMUError) {
                    return .success(try await QMPConnection.connect(path: path, timeout: timeout, logger: logger))
                } catch {
                    return .failure(error)
                }
            }
            connecting[path] = attempt
        }
        let result = await attempt.value
        if connecting[path] == attempt { connecting[path] = nil }
        if case .success(let connection) = result, connections[path] == nil || connections[path]?.isOpen == false {
            connections[path] = connection
        }
        return try result.get()
    }

    /// Runs `body` on a connection to `path`: the kept one for hive-health's own monitor; for someone else's
    /// (``QMPMonitorRole/shared``) a short session, opened for `body` and closed right after it. While the other user
    /// holds a shared monitor QEMU does not greet; the wait for the greeting is bounded by `timeout` and ends in
    /// ``QEMUError/Code/timeout`` ("busy"), which probes report as unknown, never failed.
    public nonisolated func withConnection<T: Sendable>(
        to path: String, timeout: Duration, logger: Logger,
        _ body: (QMPConnection) async throws(QEMUError) -> T
    ) async throws(QEMUError) -> T {
        guard QMPMonitorRole(path: path) == .shared else {
            return try await body(connection(to: path, timeout: timeout, logger: logger))
        }
        let session = try await QMPConnection.connect(path: path, timeout: timeout, logger: logger)
        defer { session.close() }
        return try await body(session)
    }

    /// Closes and forgets the connection to `path` (an instance that went away).
    public func close(_ path: String) {
        connections.removeValue(forKey: path)?.close()
    }

    /// Closes every connection.
    public func closeAll() {
        for connection in connections.values { connection.close() }
        connections = [:]
    }

    /// The sockets with an open connection.
    public var openSockets: [String] { connections.filter { $0.value.isOpen }.map(\.key).sorted() }
}

import Foundation
import HealthAPI
import HealthCore
import HealthNATS
import HealthStateStore
import Logging

/// What the commands beside the daemon (`status`, `recover`, `catalog`) read of a node's daemon, chosen the way the
/// daemon chooses it: the state store (JetStream KV when NATS is configured, else the local file), the NATS
/// connection, the saved statuses and the agents' heartbeats. The commands ask this, so there is one composition
/// root: a second choice of store or of connection rules cannot drift from the daemon's.
public struct DaemonAccess: Sendable {
    public let setup: DaemonSetup
    public let logger: Logger

    public init(setup: DaemonSetup, logger: Logger) {
        self.setup = setup
        self.logger = logger
    }

    /// Why the daemon's data cannot be read: hive.toml configures no NATS (`notConfigured`), or NATS or its bucket
    /// cannot be reached (`unavailable`).
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Code: Sendable, Hashable { case notConfigured, unavailable }
        public var code: Code
        public var message: String
        public var description: String { message }
        public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    }

    /// The statuses the daemon saved, the ReportInstanceStatus reports (oldest first, at most the newest 1000), and
    /// where they were read.
    public struct SavedStatus: Sendable {
        /// Nil when nothing is saved yet.
        public var state: PersistedState?
        public var reports: [InstanceStatusReport]
        /// The state directory, or `<bucket> on <url>`.
        public var source: String
    }

    /// Runs `body` on a connection to this node's NATS, closed afterwards. Throws ``Failure`` with `notConfigured`
    /// when hive.toml names no NATS (`needs` says what for) and `unavailable` when the server cannot be reached;
    /// errors of `body` pass through.
    public func withNATS<T>(
        needs: String, _ body: (NATSConnection) async throws -> T
    ) async throws -> T {
        guard let configuration = setup.natsConfiguration else {
            throw Failure(
                .notConfigured,
                "\(needs) needs NATS: set [nodes.\(setup.node.name).nats] host in hive.toml (--config), "
                    + "and [health.nats] enabled = true")
        }
        let connection: NATSConnection
        do {
            connection = try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
        } catch {
            throw Failure(.unavailable, "cannot reach NATS at \(configuration.url): \(error)")
        }
        defer { connection.close() }
        return try await body(connection)
    }

    /// Where a ``CurrentStatus`` came from.
    public enum StatusSource: Sendable, Hashable {
        /// The running daemon answered on its control socket (`socket`).
        case daemon(pid: Int32, socket: String)
        /// The state store (`location`: the state directory, or `<bucket> on <url>`), saved at `savedAt` (nil when
        /// nothing is saved); `daemonUnreachable` says why the control socket gave nothing, nil when there is none.
        case store(location: String, savedAt: Date?, daemonUnreachable: String?)
    }

    /// The node's current statuses: the running daemon's live report, else what its store saved.
    public struct CurrentStatus: Sendable {
        /// Nil when no daemon answered and nothing is saved yet.
        public var report: HealthReport?
        /// The ReportInstanceStatus reports (oldest first, at most the newest 1000).
        public var reports: [InstanceStatusReport]
        public var source: StatusSource
    }

    /// The running daemon's current report, asked on its control socket (``ControlSocket``, at most `wait` for it to
    /// start answering), with the reports it recorded in its state directory; when no daemon answers (no socket,
    /// refused, silent, not hive-health), ``statuses()`` from the store, with the reason. Throws what
    /// ``statuses()`` throws.
    public func currentStatus(wait: Duration = .seconds(2)) async throws -> CurrentStatus {
        let socket = ControlSocket.path(stateDirectory: setup.stateDirectory)
        let unreachable: String?
        do throws(ControlSocketError) {
            let live = try await ControlSocket.ask(path: socket, timeout: wait)
            // The daemon records every report in its state directory, with NATS too.
            let reports = FileReportStore.load(path: setup.stateDirectory + "/" + FileReportStore.fileName)
            return CurrentStatus(
                report: live.report, reports: reports,
                source: .daemon(pid: live.pid, socket: socket))
        } catch where error.code == .absent {
            unreachable = nil
        } catch {
            logger.debug("control socket: \(error); reading the state store")
            unreachable = error.message
        }
        let saved = try await statuses()
        return CurrentStatus(
            report: saved.state?.report, reports: saved.reports,
            source: .store(location: saved.source, savedAt: saved.state?.savedAt, daemonUnreachable: unreachable))
    }

    /// The saved statuses from the store the daemon writes.
    public func statuses() async throws -> SavedStatus {
        guard let configuration = setup.natsConfiguration else {
            let store = FileStateStore(directory: setup.stateDirectory, logger: logger)
            let reports = FileReportStore.load(path: setup.stateDirectory + "/" + FileReportStore.fileName)
            return SavedStatus(state: try await store.load(), reports: reports, source: setup.stateDirectory)
        }
        return try await withNATS(needs: "status") { connection in
            let source = "\(setup.subjects.statusBucket) on \(configuration.url)"
            let store: KeyValueStateStore
            do {
                store = try await KeyValueStateStore.open(
                    connection: connection, subjects: setup.subjects, node: setup.node.name, logger: logger)
            } catch {
                throw Failure(.unavailable, "cannot open \(source): \(error)")
            }
            return SavedStatus(
                state: try await store.load(), reports: try await Self.reports(in: store.bucket), source: source)
        }
    }

    /// Every agent's heartbeat (`agent.<node>` in the status bucket), sorted by node; unreadable ones are left out.
    public func agentHeartbeats(timeout: Duration = .seconds(5)) async throws -> [NodeHeartbeat] {
        try await withNATS(needs: "reading the agents' heartbeats") { connection in
            let bucket = try await connection.keyValue(setup.subjects.statusBucket)
            let values = try await bucket.entries(matching: "agent.*", timeout: timeout)
            return values.compactMap { key, entry in
                try? NodeHeartbeat.decode(entry.value, node: String(key.dropFirst("agent.".count)))
            }.sorted { $0.node < $1.node }
        }
    }

    /// The `report.<id>` entries of the status bucket (at most the newest 1000).
    static func reports(in bucket: NATSKeyValue) async throws -> [InstanceStatusReport] {
        let entries = try await bucket.entries(matching: "report.*", timeout: .seconds(5))
        let reports = entries.values.compactMap {
            try? JSONDecoder.healthMessages.decode(InstanceStatusReport.self, from: Data($0.value))
        }
        return Array(reports.sorted { $0.reportedAt < $1.reportedAt }.suffix(1000))
    }
}

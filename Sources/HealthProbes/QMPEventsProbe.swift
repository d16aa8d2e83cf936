import Foundation
import HealthCore
import HealthQEMU
import ProbeKit

/// `qmp.events`: the push side of QMP. Its event source (``watchEvents(_:)``, run by the daemon) keeps the instance's
/// monitor connection open and re-runs the instance's checks the moment QEMU reports `SHUTDOWN`, `STOP`/`RESUME`,
/// `GUEST_PANICKED`, `BLOCK_IO_ERROR` or the socket closes; the check then reads what the shared connection saw.
///
/// Fails when the monitor is gone (QEMU exited), the guest panicked or shut down, or a block device reported an
/// I/O error within `io_error_window`. Shipped with `consecutive_failures: 1`: a closed monitor socket that refuses
/// reconnection is decisive, so a dead QEMU is impaired within seconds.
///
/// Events are taken only from a monitor of hive-health's own (``QMPMonitorRole/own``). On someone else's (Spinifex's
/// telemetry or control monitor) nothing is held: the check watches QEMU itself through a pidfd on the pid from
/// `pid_file` (the daemon re-runs it the moment that pidfd becomes readable) and fails when QEMU has exited.
public struct QMPEventsProbe: ProbeEventSource, ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "qmp.events", category: .instance, targets: [.instance],
        parameters: [QMPProbeSupport.socketParameter, ioErrorWindow.spec, pidFile.spec],
        timeoutClass: .qmp,
        summary: "push: QMP events (SHUTDOWN, STOP, GUEST_PANICKED, BLOCK_IO_ERROR, socket closed) re-evaluate at once")

    static let ioErrorWindow: ProbeParameter<Duration> = .duration(
        "io_error_window", default: .seconds(300),
        doc: "A BLOCK_IO_ERROR event fails the check for this long after it was received.")
    static let pidFile: ProbeParameter<String> = .string(
        "pid_file", default: "{{instance.pid_file}}",
        doc: "QEMU's pid file, watched through a pidfd when the monitor is not hive-health's own.")

    /// Events that re-run an instance's checks at once (the only table of them).
    public static let triggeringEvents: Set<String> = [
        "SHUTDOWN", "STOP", "RESUME", "GUEST_PANICKED", "BLOCK_IO_ERROR", "RESET", "POWERDOWN", "MIGRATION",
    ]

    public let environment: ProbeEnvironment
    /// The daemon's QMP connections (a test's own through ``ProbeKit/ProbeEnvironment/withQMPConnections(_:)``).
    var pool: QMPConnectionPool { environment.qmpConnections }

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (socket: String, ioErrorWindow: Duration, pidFile: String)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (socket, ioErrorWindow, pidFile) = settings
        if QMPMonitorRole(path: socket) == .shared {
            let path = QMPProbeSupport.absolutePath(pidFile, runtimeDirectory: environment.runtimeDirectory) ?? ""
            return Self.judgeProcess(QEMUProcessWatch.state(pidFile: path), pidFile: path, monitor: socket)
        }
        let connection: QMPConnection
        do throws(QEMUError) {
            connection = try await pool.connection(
                to: socket, timeout: QMPProbeSupport.budget(request), logger: request.logger)
        } catch {
            return QMPProbeSupport.observation(for: error, socket: socket)
        }
        return Self.judge(connection.recentEvents, connectedAt: connection.connectedAt, ioErrorWindow: ioErrorWindow)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let socket = try QMPProbeSupport.socketPath(
            parameters.string("socket"), request: request, runtimeDirectory: environment.runtimeDirectory,
            what: "QMP"
        ).get()
        let ioErrorWindow = try parameters.value(Self.ioErrorWindow)
        let pidFile = try parameters.value(Self.pidFile)
        return (socket, ioErrorWindow, pidFile)
    }

    /// The verdict from QEMU's process when its monitor is someone else's.
    static func judgeProcess(_ state: QEMUProcessWatch.State, pidFile: String, monitor: String) -> Observation {
        let name = monitor.split(separator: "/").last.map(String.init) ?? monitor
        switch state {
        case .running(let pid):
            return .passed("QEMU pid \(pid) runs (pidfd); \(name) is not hive-health's own monitor: no events held")
        case .exited(let pid): return .failed("QEMU pid \(pid) (from \(pidFile)) has exited")
        case .noPID(let reason):
            return pidFile.isEmpty ? .unknown("no pid file known: \(reason)") : .failed("\(reason) (QEMU not running?)")
        case .unavailable(let reason): return .unknown(reason)
        }
    }

    /// The verdict on the events a connection saw, newest last.
    static func judge(_ events: [QMPEvent], connectedAt: Date, ioErrorWindow: Duration, now: Date = Date())
        -> Observation
    {
        // What happened since the guest last (re)started: RESET and RESUME end a panic or a shutdown.
        let sinceStart = events.reversed().prefix { $0.name != "RESET" && $0.name != "RESUME" }
        if let panic = sinceStart.first(where: { $0.name == "GUEST_PANICKED" }) {
            let action = panic.data["action"]?.string.map { " (action \($0))" } ?? ""
            return .failed("GUEST_PANICKED\(action) at \(RFC3339Text.format(panic.receivedAt))")
        }
        if let shutdown = sinceStart.first(where: { $0.name == "SHUTDOWN" }) {
            let reason = shutdown.data["reason"]?.string.map { " (\($0))" } ?? ""
            return .failed("SHUTDOWN\(reason) at \(RFC3339Text.format(shutdown.receivedAt))")
        }
        let window = ioErrorWindow.seconds
        if let ioError = events.last(where: {
            $0.name == "BLOCK_IO_ERROR" && now.timeIntervalSince($0.receivedAt) <= window
        }) {
            let device = ioError.data["device"]?.string ?? ioError.data["node-name"]?.string ?? "?"
            let reason = ioError.data["reason"]?.string ?? ioError.data["operation"]?.string ?? ""
            return .failed(
                "BLOCK_IO_ERROR on \(device)\(reason.isEmpty ? "" : ": " + reason) at "
                    + RFC3339Text.format(ioError.receivedAt))
        }
        let last = events.last.map { ", last event \($0.name)" } ?? ""
        return .passed(
            "QMP event stream connected since \(RFC3339Text.format(connectedAt)), \(events.count) events\(last)")
    }
}

/// RFC 3339 text of a time, for messages.
enum RFC3339Text {
    static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

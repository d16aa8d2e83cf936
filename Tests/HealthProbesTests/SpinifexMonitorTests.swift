import Foundation
import HealthCore
import HealthProbes
import HealthQEMU
import HealthTestKit
import Logging
import Testing

/// Spinifex's monitors with a real QEMU: hive-health never holds `qmp-telemetry-<id>.sock` (its collector's) or
/// `qmp-<id>.sock` (its daemon's); short sessions, busy is unknown, QEMU's death through a pidfd.
@Suite("Spinifex's QEMU monitors are never held", .serialized)
struct SpinifexMonitorTests {
    let id = "i-0abc123def4567890"

    func start(_ folder: ShortTemporaryFolder) async throws -> (ChildProcess, String, String) {
        let telemetry = folder.file("qmp-telemetry-\(id).sock")
        let control = folder.file("qmp-\(id).sock")
        let qemu = try await QEMUFixtures.startQEMU(
            qmp: telemetry,
            extra: ["-qmp", "unix:\(control),server=on,wait=off", "-pidfile", folder.file("\(id).pid")])
        #expect(await waitForListener(control))
        return (qemu, telemetry, control)
    }

    func target(_ folder: ShortTemporaryFolder, telemetry: String, control: String) -> Target {
        .instance(
            InstanceInfo(
                id: id, node: testNode.name, qmpSocket: control, telemetryQMPSocket: telemetry,
                pidFile: folder.file("\(id).pid")))
    }

    @Test("the monitor role comes from Spinifex's file names")
    func roles() {
        #expect(QMPMonitorRole(path: "/run/spinifex/qmp-telemetry-\(id).sock") == .shared)
        #expect(QMPMonitorRole(path: "/run/spinifex/qmp-\(id).sock") == .shared)
        #expect(QMPMonitorRole(path: "/run/hive/qmp-health-\(id).sock") == .own)
        #expect(QMPMonitorRole(path: "/tmp/x/qmp.sock") == .own)
    }

    @Test("qmp.status opens a short session on the telemetry monitor and closes it; never held by the pool")
    func shortSessions() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let (qemu, telemetry, control) = try await start(folder)
        defer { qemu.stop() }
        let pool = QMPConnectionPool()
        let probe = QMPStatusProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let request = qmpRequest(target(folder, telemetry: telemetry, control: control), timeout: .seconds(20))
        let running = await probe.observe(request)
        #expect(running.outcome == .passed, "\(running.message)")
        #expect(await pool.openSockets.isEmpty)
        // Right after the session another client (Spinifex's collector) gets the monitor at once.
        let collector = try await QMPConnection.connect(
            path: telemetry, timeout: .seconds(5), logger: Logger(label: "collector"))
        collector.close()
        await #expect(throws: QEMUError.self) {
            try await pool.connection(to: telemetry, timeout: .seconds(1), logger: Logger(label: "t"))
        }
    }

    @Test("while another client holds the telemetry monitor, qmp.status waits a bounded time and is unknown")
    func busyIsUnknown() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let (qemu, telemetry, control) = try await start(folder)
        defer { qemu.stop() }
        let holder = try await QMPConnection.connect(
            path: telemetry, timeout: .seconds(5), logger: Logger(label: "collector"))
        let probe = QMPStatusProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(QMPConnectionPool()))
        let busy = await probe.observe(
            qmpRequest(target(folder, telemetry: telemetry, control: control), timeout: .seconds(1)))
        #expect(busy.outcome == .unknown, "\(busy.message)")
        #expect(busy.message.contains("greeting"), "\(busy.message)")
        holder.close()
        let free = await probe.observe(
            qmpRequest(target(folder, telemetry: telemetry, control: control), timeout: .seconds(20)))
        #expect(free.outcome == .passed, "\(free.message)")
    }

    @Test("qmp.events on Spinifex's monitor holds nothing and sees QEMU's exit through a pidfd")
    func eventsThroughThePidfd() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let (qemu, telemetry, control) = try await start(folder)
        defer { qemu.stop() }
        let pool = QMPConnectionPool()
        let probe = QMPEventsProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let request = qmpRequest(target(folder, telemetry: telemetry, control: control), timeout: .seconds(10))
        let alive = await probe.observe(request)
        #expect(alive.outcome == .passed, "\(alive.message)")
        #expect(alive.message.contains("pidfd"))
        #expect(await pool.openSockets.isEmpty)

        let pid = try QEMUProcessWatch.pid(fromFile: folder.file("\(id).pid")).get()
        guard case .watching(let fd) = QEMUProcessWatch.open(pid: pid) else {
            Issue.record("no pidfd on \(pid)")
            return
        }
        defer { close(fd) }
        #expect(!QEMUProcessWatch.hasExited(fd))
        qemu.signal(SIGKILL)
        let readable = await offCooperativePool { QEMUProcessWatch.waitForExit([fd], timeout: .seconds(10)) }
        #expect(readable == [fd])
        let dead = await probe.observe(request)
        #expect(dead.outcome == .failed, "\(dead.message)")
        #expect(dead.message.contains("exited"), "\(dead.message)")
    }
}

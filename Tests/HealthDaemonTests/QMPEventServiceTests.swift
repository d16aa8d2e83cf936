import Foundation
import HealthCore
import HealthDaemon
import HealthQEMU
import HealthTestKit
import Logging
import ProbeKit
import Testing

@Suite("QMP events in the daemon (qmp.events' event source)")
struct QMPEventServiceTests {
    static let checks = """
        checks:
          - name: qmp.events
            probe: qmp.events
            target: instance
            interval: 1h
            splay: 0s
            thresholds:
              consecutive_failures: 1
          - name: qmp.status
            probe: qmp.status
            target: instance
            interval: 1h
            splay: 0s
          - name: always-fails
            probe: exec
            target: instance
            interval: 1h
            splay: 0s
            thresholds:
              consecutive_failures: 3
            params:
              command: ["/bin/false"]
        """

    /// An inventory with one running instance whose health QMP socket is `telemetry`, launched an hour ago.
    static func writeInventory(_ fixture: DaemonFixture, id: String, hive: String, telemetry: String) throws {
        let launched = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
        let json = """
            {"vms": {"\(id)": {"id": "\(id)", "status": "running",
              "config": {"qmp_socket": "\(hive)", "telemetry_qmp_socket": "\(telemetry)"},
              "instance": {"LaunchTime": "\(launched)"}}}}
            """
        try Data(json.utf8).write(to: fixture.inventory)
    }

    @Test("stop suppresses, cont ends it, kill -9 impairs the instance within 2 s through the event path")
    func stopContKill() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let telemetry = folder.file("tel.sock")
        let hive = folder.file("hive.sock")
        let qemu = try await QEMUFixtures.startQEMU(
            qmp: telemetry, extra: ["-qmp", "unix:\(hive),server=on,wait=off"])
        defer { qemu.stop() }
        #expect(await waitForListener(hive))
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(Self.checks, to: "checks.yaml")
        try Self.writeInventory(fixture, id: "i-qmp1", hive: hive, telemetry: telemetry)
        let daemon = try await HealthDaemon(
            setup: try fixture.setup(), logger: Logger(label: "test"), timing: .fast)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        defer { running.cancel() }
        func instanceStatus() -> SummaryStatus? { daemon.evaluator.report().instances.first?.instance.status }
        func message(_ check: String) -> String {
            daemon.evaluator.record(forKey: "\(check)/i-qmp1")?.state.lastObservation?.message ?? ""
        }

        // always-fails has failed once (of 3): the instance is not ok, but not impaired either.
        #expect(
            await eventually(timeout: .seconds(20)) { message("qmp.status") == "running" }, "\(message("qmp.status"))")
        #expect(await eventually(timeout: .seconds(20)) { message("qmp.events").contains("connected") })
        // qmp.events' event source has subscribed to the daemon's shared connection.
        #expect(
            await eventually(timeout: .seconds(10)) {
                let pool = daemon.probeEnvironment.qmpConnections
                guard await pool.openSockets.contains(telemetry) else { return false }
                let connection = try? await pool.connection(
                    to: telemetry, timeout: .seconds(1), logger: Logger(label: "test"))
                return (connection?.subscriberCount ?? 0) > 0
            })

        // Hive's own monitor pauses the VM: the STOP event re-runs qmp.status at once, which is suppressed.
        let monitor = try await QMPConnection.connect(path: hive, timeout: .seconds(5), logger: Logger(label: "op"))
        defer { monitor.close() }
        _ = try await monitor.execute("stop", timeout: .seconds(5))
        #expect(await eventually(timeout: .seconds(5)) { message("qmp.status").contains("suppressed") })
        // The STOP event re-ran every check of the instance; the failing one ran inside the suppression window.
        #expect(
            await eventually(timeout: .seconds(5)) {
                message("always-fails").contains("suppressed (paused by an operator)")
            },
            "\(message("always-fails"))")
        #expect(instanceStatus() != .impaired)
        _ = try await monitor.execute("cont", timeout: .seconds(5))
        #expect(await eventually(timeout: .seconds(5)) { message("qmp.status") == "running" })

        let clock = ContinuousClock()
        let killed = clock.now
        qemu.signal(SIGKILL)
        let impaired = await eventually(timeout: .seconds(5)) { instanceStatus() == .impaired }
        let elapsed = clock.now - killed
        #expect(impaired)
        #expect(elapsed < .seconds(2), "impaired after \(elapsed)")
        #expect(message("qmp.events").contains("unreachable"), "\(message("qmp.events"))")

        await group.triggerGracefulShutdown()
        try await running.value
    }
}

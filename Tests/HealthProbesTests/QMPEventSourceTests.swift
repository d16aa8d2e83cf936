import Foundation
import HealthCore
import HealthProbes
import HealthTestKit
import Logging
import Synchronization
import Testing

@Suite("qmp.events owns its event source: the targets of its checks, triggers and the pidfd exit watch")
struct QMPEventSourceTests {
    /// What the source asked the daemon to do.
    final class Calls: Sendable {
        let triggers = Mutex<[String]>([])
    }

    func context(_ targets: [ProbeEventTarget], calls: Calls) -> ProbeEventContext {
        ProbeEventContext(
            targets: { targets },
            triggerInstance: { instance, reason in calls.triggers.withLock { $0.append("\(instance): \(reason)") } },
            suppressInstance: { _, _ in }, refreshInterval: .milliseconds(100), maxBackoff: .seconds(1),
            timeout: .seconds(2), logger: Logger(label: "qmp-source", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test("on someone else's monitor QEMU's exit (its pid_file's process) re-runs the instance's checks at once")
    func exitThroughThePidfd() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let process = try ChildProcess("sleep", ["60"])
        defer { process.stop() }
        try Data("\(process.pid)\n".utf8).write(to: URL(filePath: folder.file("i-0src.pid")))
        let target = ProbeEventTarget(
            checkName: "qmp.events", instanceID: "i-0src",
            parameters: ProbeParameters([
                // Relative paths are taken under the runtime directory, as a run takes them.
                "socket": .string("qmp-telemetry-i-0src.sock"), "pid_file": .string("i-0src.pid"),
            ]))
        let probe = QMPEventsProbe(environment: ProbeEnvironment(runtimeDirectory: folder.path))
        let calls = Calls()
        let source = Task { await probe.watchEvents(context([target], calls: calls)) }
        defer { source.cancel() }
        // Nothing happens while QEMU (here: sleep) runs; give the loop a few polls to open its pidfd.
        try await Task.sleep(for: .milliseconds(300))
        #expect(calls.triggers.withLock { $0 }.isEmpty)
        process.signal(SIGKILL)
        #expect(
            await eventually(timeout: .seconds(10)) {
                calls.triggers.withLock { $0 }.contains { $0.hasPrefix("i-0src: QEMU pid \(process.pid)") }
            })
        source.cancel()
        await source.value
    }

    @Test("node targets and empty sockets are not watched; a monitor of its own is held, someone else's is not")
    func watchedTargets() async {
        let probe = QMPEventsProbe(environment: ProbeEnvironment(runtimeDirectory: "/run/hive"))
        let targets = [
            ProbeEventTarget(checkName: "qmp.events", instanceID: nil, parameters: ProbeParameters()),
            ProbeEventTarget(
                checkName: "qmp.events", instanceID: "i-1", parameters: ProbeParameters(["socket": .string(" ")])),
            ProbeEventTarget(
                checkName: "qmp.events", instanceID: "i-2",
                parameters: ProbeParameters(["socket": .string("qmp-health-i-2.sock")])),
            ProbeEventTarget(
                checkName: "qmp.events", instanceID: "i-3",
                parameters: ProbeParameters([
                    "socket": .string("/run/spinifex/qmp-telemetry-i-3.sock"), "pid_file": .string("i-3.pid"),
                ])),
        ]
        #expect(probe.exitWatches(targets) == ["i-3": "/run/hive/i-3.pid"])
        #expect(probe.monitorSockets(targets) == ["i-2": "/run/hive/qmp-health-i-2.sock"])
    }
}

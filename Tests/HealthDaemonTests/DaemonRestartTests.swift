import Foundation
import HealthCore
import HealthDaemon
import HealthStateStore
import HealthTestKit
import Logging
import Testing

@Suite("Daemon restart")
struct DaemonRestartTests {
    static let checks = """
        checks:
          - name: qemu.process
            probe: qemu.process
            target: instance
            interval: 1s
            timeout: 500ms
            splay: 100ms
            thresholds:
              consecutive_failures: 2
        """

    @Test("statuses, counters and ImpairedSince survive a daemon restart; nothing turns ok because of it")
    func restartKeepsImpairment() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(Self.checks, to: "checks.yaml")
        // The pid file does not exist: qemu.process fails on every run.
        try fixture.writeInventory(ids: ["i-0abc"])
        let logger = Logger(label: "test")
        let setup = try fixture.setup()

        let first = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        let group = first.makeServiceGroup()
        let running = Task { try await group.run() }
        let impaired = await eventually(timeout: .seconds(20)) {
            first.evaluator.report().instances.first?.instance.status == .impaired
        }
        #expect(impaired)
        let before = try #require(first.evaluator.report().instances.first?.instance)
        let since = try #require(before.impairedSince)
        await group.triggerGracefulShutdown()
        try await running.value
        let failuresBefore = try #require(first.evaluator.record(forKey: "qemu.process/i-0abc")?.state.consecutiveFailed)
        #expect(failuresBefore >= 2)

        // The saved file has it.
        let saved = try #require(try await FileStateStore(directory: fixture.state.path, logger: logger).load())
        #expect(sameMillisecond(saved.jobs["qemu.process/i-0abc"]?.state.impairedSince, since))

        let second = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        // Before anything runs, the restored view is already impaired with the same ImpairedSince.
        let restored = try #require(second.evaluator.report().instances.first?.instance)
        #expect(restored.status == .impaired)
        #expect(sameMillisecond(restored.impairedSince, since))

        let group2 = second.makeServiceGroup()
        let running2 = Task { try await group2.run() }
        var sawOtherStatus = false
        let progressed = await eventually(timeout: .seconds(20)) {
            let status = second.evaluator.report().instances.first?.instance.status
            if status != .impaired { sawOtherStatus = true }
            let failures = second.evaluator.record(forKey: "qemu.process/i-0abc")?.state.consecutiveFailed ?? 0
            return failures > failuresBefore
        }
        #expect(progressed, "the counters continue from the saved ones")
        #expect(!sawOtherStatus, "never ok, initializing or insufficient-data across the restart")
        #expect(sameMillisecond(second.evaluator.report().instances.first?.instance.impairedSince, since))
        await group2.triggerGracefulShutdown()
        try await running2.value
    }
}

/// The state file keeps times to the millisecond.
func sameMillisecond(_ a: Date?, _ b: Date) -> Bool {
    guard let a else { return false }
    return abs(a.timeIntervalSince(b)) < 0.001
}

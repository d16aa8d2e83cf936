import Foundation
import HealthCore
import HealthNATS
import HealthRecovery
import HealthTestKit
import Testing

/// Recovery against SpinifexDaemonStandIn: Spinifex's daemon rules for `ec2.cmd.<id>` and `ec2.start` (ownership by
/// `X-Account-ID`, `{"Code"}` refusals, nothing answering for a stopped instance), read at ddf22cac.
@Suite("Recovery commands with Spinifex's ownership rules", .serialized)
struct SpinifexCommandTests {
    func roundsUntil(
        _ agent: RecoveryAgent, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        try await eventually(timeout: timeout, poll: .milliseconds(100)) {
            try await agent.round()
            return try await condition()
        }
    }

    func current(_ fixture: RecoveryFixture, _ instance: String) async throws -> RecoveryRecord? {
        try await fixture.store().current()[instance]?.record
    }

    func automaticAgent(_ fixture: RecoveryFixture) async throws -> RecoveryAgent {
        try await fixture.agentHeartbeat("node-a")
        try await fixture.hiveHeartbeat("node-a")
        var settings = RecoverySettings.fast
        settings.automatic = true
        return fixture.agent("node-a", recovery: settings)
    }

    func bootVolume(_ id: String) -> SpinifexVM.EBSRequest {
        .init(name: "vol-\(id)", boot: true, nbdURI: "nbd+unix:///?socket=/run/spinifex/nbd/vol-\(id).sock")
    }

    @Test("stop as the owner on ec2.cmd.<id>, then start through ec2.start with {\"instance_id\"} and the same header")
    func stopAsOwnerThenStartThroughEC2Start() async throws {
        let fixture = try await RecoveryFixture(prefix: "spinifex")
        defer { fixture.stop() }
        let daemon = try await SpinifexDaemonStandIn(node: "node-a", connection: fixture.connection)
        defer { daemon.stop() }
        try await daemon.run(SpinifexVM(id: "i-owned", accountID: "123456789012", volumes: [bootVolume("i-owned")]))
        try await fixture.status("i-owned", node: "node-a", system: .impaired)
        let agent = try await automaticAgent(fixture)
        let done = try await roundsUntil(agent) { try await current(fixture, "i-owned")?.state == .done }
        let record = try await current(fixture, "i-owned")
        #expect(done, "\(String(describing: record))")
        let commands = daemon.commands
        #expect(commands.map(\.subject) == ["ec2.cmd.i-owned", "ec2.start"])
        #expect(commands.map(\.account) == ["123456789012", "123456789012"])
        #expect(commands.first?.body == #"{"attributes":{"stop_instance":true},"id":"i-owned"}"#)
        #expect(commands.last?.body == #"{"instance_id":"i-owned"}"#)
        #expect(commands.map(\.reply) == ["{}", #"{"status":"running","instanceId":"i-owned"}"#])
        #expect(daemon.vm("i-owned")?.status == "running")
        let steps = try #require(try await current(fixture, "i-owned")).steps.map(\.reason).joined(separator: " | ")
        #expect(steps.contains("ec2.start"), "\(steps)")
        #expect(steps.contains("last node"), "\(steps)")
    }

    @Test("an untenanted VM is commanded as 000000000000")
    func untenantedVMUsesTheGlobalAccount() async throws {
        let fixture = try await RecoveryFixture(prefix: "spinifex")
        defer { fixture.stop() }
        let daemon = try await SpinifexDaemonStandIn(node: "node-a", connection: fixture.connection)
        defer { daemon.stop() }
        try await daemon.run(SpinifexVM(id: "i-root", volumes: [bootVolume("i-root")]))
        try await fixture.status("i-root", node: "node-a", system: .impaired)
        let agent = try await automaticAgent(fixture)
        #expect(try await roundsUntil(agent) { try await current(fixture, "i-root")?.state == .done })
        #expect(daemon.commands.map(\.account) == ["000000000000", "000000000000"])
    }

    @Test("a refused command fails the recovery with Spinifex's code, in the record and in the events")
    func refusalIsAFailureWithTheCode() async throws {
        let fixture = try await RecoveryFixture(prefix: "spinifex")
        defer { fixture.stop() }
        let events = try await fixture.collectEvents()
        defer { events.stop() }
        let daemon = try await SpinifexDaemonStandIn(node: "node-a", connection: fixture.connection)
        defer { daemon.stop() }
        try await daemon.run(SpinifexVM(id: "i-1", accountID: "123456789012", volumes: [bootVolume("i-1")]))
        // hive-state says another owner than the daemon holds: Spinifex refuses the stop.
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        var forged = SpinifexVM(id: "i-1", accountID: "999999999999", volumes: [bootVolume("i-1")])
        forged.status = "running"
        let bucket = try await fixture.bucket("spinifex-instance-state")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        _ = try await bucket.put("node.node-a", value: Array(try encoder.encode(["vms": ["i-1": forged]])))
        let agent = try await automaticAgent(fixture)
        let failed = try await roundsUntil(agent) { try await current(fixture, "i-1")?.state == .failed }
        #expect(failed)
        let record = try #require(try await current(fixture, "i-1"))
        #expect(record.steps.last?.reason.contains("InvalidInstanceID.NotFound") == true, "\(record.steps)")
        #expect(daemon.commands.map(\.reply) == [#"{"Code":"InvalidInstanceID.NotFound"}"#])
        #expect(daemon.vm("i-1")?.status == "running")
        let seen = await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
            events.events.contains { $0["to"] == "failed" && ($0["reason"] ?? "").contains("InvalidInstanceID") }
        }
        #expect(seen, "\(events.events)")
    }

    @Test("no reply is a failure with the reason, never a success")
    func noAnswerIsAFailure() async throws {
        let fixture = try await RecoveryFixture(prefix: "spinifex")
        defer { fixture.stop() }
        let daemon = try await SpinifexDaemonStandIn(node: "node-a", connection: fixture.connection)
        try await daemon.run(SpinifexVM(id: "i-gone", accountID: "123456789012", volumes: [bootVolume("i-gone")]))
        daemon.stop()  // its record stays; nothing answers ec2.cmd.i-gone any more
        try await fixture.status("i-gone", node: "node-a", system: .impaired)
        let agent = try await automaticAgent(fixture)
        #expect(try await roundsUntil(agent) { try await current(fixture, "i-gone")?.state == .failed })
        let reason = try #require(try await current(fixture, "i-gone")).steps.last?.reason ?? ""
        #expect(reason.contains("nobody answers ec2.cmd.i-gone"), "\(reason)")
    }
}

@Suite("Spinifex's shutdown marker against a real nats-server", .serialized)
struct SpinifexShutdownMarkerTests {
    @Test("the shutdown.<node> marker in spinifex-cluster-state is read: a node shut down on purpose is not dead")
    func markerIsRead() async throws {
        let fixture = try await RecoveryFixture(prefix: "spinifex")
        defer { fixture.stop() }
        let old = Date().addingTimeInterval(-600)
        try await fixture.agentHeartbeat("node-a")
        try await fixture.agentHeartbeat("node-d", at: old)
        try await fixture.hiveHeartbeat("node-d", at: old)
        let detector = DeadNodeDetector(
            node: "node-a", connection: fixture.connection, subjects: fixture.subjects, settings: .fast,
            events: RecoveryEventPublisher(
                connection: fixture.connection, subjects: fixture.subjects, logger: fixture.logger),
            logger: fixture.logger)
        #expect(try await detector.observe().view.deathReason(of: "node-d") != nil)
        // spinifex/daemon/jetstream.go WriteShutdownMarker: {"node", "timestamp"} under shutdown.<node>.
        let marker = #"{"node":"node-d","timestamp":"\#(RFC3339.format(old))"}"#
        _ = try await fixture.bucket("spinifex-cluster-state").put("shutdown.node-d", value: Array(marker.utf8))
        let view = try await detector.observe().view
        #expect(view.shutdownNodes == ["node-d"])
        #expect(view.deathReason(of: "node-d") == nil)
    }
}

import Foundation
import HealthCore
import HealthNATS
import HealthRecovery
import HealthTestKit
import Testing

@Suite("Recovery against a real nats-server and a stand-in for Hive", .serialized)
struct RecoveryPolicyTests {
    /// Runs rounds of `agent` until `condition` holds (at most `timeout`).
    func roundsUntil(
        _ agent: RecoveryAgent, timeout: Duration = .seconds(15), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        try await eventually(timeout: timeout, poll: .milliseconds(100)) {
            try await agent.round()
            return try await condition()
        }
    }

    func current(_ fixture: RecoveryFixture, _ instance: String) async throws -> RecoveryRecord? {
        try await fixture.store().current()[instance]?.record
    }

    /// A one-agent cluster (node-a) with Hive's heartbeat fresh.
    func singleAgentCluster(_ fixture: RecoveryFixture) async throws {
        try await fixture.agentHeartbeat("node-a")
        try await fixture.hiveHeartbeat("node-a")
    }

    @Test("recovery_enabled = false: a proposal, approved by a person, then stop and start on another host")
    func approveFlow() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        let events = try await fixture.collectEvents()
        defer { events.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-1", node: "node-a", ebs: true))
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        let agent = fixture.agent("node-a")
        for _ in 0..<3 { try await agent.round() }
        let proposed = try #require(try await current(fixture, "i-1"))
        #expect(proposed.state == .proposed)
        #expect(proposed.action == .stopStart)
        #expect(hive.sent.isEmpty)
        let pending = try await fixture.store().pendingEvents()
        #expect(pending.map(\.code) == [.instanceStop])
        #expect(pending.first?.instanceID == "i-1")

        // What `hive-health recover approve` does: the decision, then its event.
        let approved = try await fixture.store().approve(id: proposed.id, by: "operator")
        await RecoveryEventPublisher(connection: fixture.connection, subjects: fixture.subjects, logger: fixture.logger)
            .publish(RecoveryEvent.step(approved, from: .proposed))
        let done = try await roundsUntil(agent) { try await current(fixture, "i-1")?.state == .done }
        #expect(done)
        #expect(hive.sent == ["stop_instance i-1", "start_instance i-1"])
        let record = try #require(try await current(fixture, "i-1"))
        #expect(record.steps.map(\.state) == [.proposed, .approved, .stopping, .starting, .done])
        #expect(record.steps.last?.reason.contains("node-z") == true)
        #expect(try await fixture.store().pendingEvents().isEmpty)
        #expect(try await fixture.store().history().map(\.id) == [record.id])
        let published = await eventually(timeout: .seconds(5)) {
            events.events.filter { $0["recovery_id"] == record.id }.count == 5
        }
        #expect(published, "\(events.events)")
        #expect(events.events.allSatisfy { $0["reason"]?.isEmpty == false })

        // Still impaired in the same streak: no second recovery (one per streak, and the 180 s window).
        for _ in 0..<3 { try await agent.round() }
        #expect(try await current(fixture, "i-1")?.id == record.id)
        try await fixture.status(
            "i-1", node: "node-a", system: .impaired, impairedSince: Date(timeIntervalSince1970: 1_900_000_000))
        for _ in 0..<3 { try await agent.round() }
        #expect(try await current(fixture, "i-1")?.id == record.id)
    }

    @Test("a proposal rejected by a person is not carried out")
    func rejectFlow() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-1", node: "node-a", ebs: true))
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        let agent = fixture.agent("node-a")
        try await agent.round()
        let proposed = try #require(try await current(fixture, "i-1"))
        try await fixture.store().reject(id: proposed.id, by: "operator")
        for _ in 0..<3 { try await agent.round() }
        #expect(try await current(fixture, "i-1")?.state == .rejected)
        #expect(hive.sent.isEmpty)
        await #expect(throws: RecoveryError.self) { try await fixture.store().approve(id: proposed.id, by: "late") }
    }

    @Test("recovery_enabled = true: stop and start without a person")
    func automaticFlow() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-1", node: "node-a", ebs: true))
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        var settings = RecoverySettings.fast
        settings.automatic = true
        let agent = fixture.agent("node-a", recovery: settings)
        let done = try await roundsUntil(agent) { try await current(fixture, "i-1")?.state == .done }
        #expect(done)
        #expect(hive.sent == ["stop_instance i-1", "start_instance i-1"])
    }

    @Test("instance store: reboot, still impaired after the grace period -> delete (termination allowed)")
    func rebootThenTerminate() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-2", node: "node-a", ebs: false))
        try await fixture.status("i-2", node: "node-a", system: .impaired)
        var settings = RecoverySettings.fast
        settings.automatic = true
        settings.terminationAllowed = true
        let agent = fixture.agent("node-a", recovery: settings)
        let done = try await roundsUntil(agent) { try await current(fixture, "i-2")?.state == .done }
        #expect(done)
        #expect(hive.sent == ["reboot_instance i-2", "delete_instance i-2"])
        let record = try #require(try await current(fixture, "i-2"))
        #expect(record.steps.map(\.state) == [.proposed, .approved, .rebooting, .terminating, .done])
    }

    @Test("instance store: a reboot that helps ends the recovery")
    func rebootThatHelps() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-2", node: "node-a", ebs: false))
        try await fixture.status("i-2", node: "node-a", system: .impaired)
        var settings = RecoverySettings.fast
        settings.automatic = true
        settings.terminationAllowed = true
        settings.gracePeriod = .seconds(30)
        let agent = fixture.agent("node-a", recovery: settings)
        let rebooting = try await roundsUntil(agent) { try await current(fixture, "i-2")?.state == .rebooting }
        #expect(rebooting)
        try await fixture.status("i-2", node: "node-a", system: .ok)
        let done = try await roundsUntil(agent) { try await current(fixture, "i-2")?.state == .done }
        #expect(done)
        #expect(hive.sent == ["reboot_instance i-2"])
    }

    @Test("termination not allowed: after the reboot, a proposal for a person to delete the instance")
    func terminationNotAllowed() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-2", node: "node-a", ebs: false))
        try await fixture.status("i-2", node: "node-a", system: .impaired)
        var settings = RecoverySettings.fast
        settings.automatic = true
        settings.terminationAllowed = false
        let agent = fixture.agent("node-a", recovery: settings)
        let proposed = try await roundsUntil(agent) {
            let record = try await current(fixture, "i-2")
            return record?.state == .proposed && record?.action == .terminate
        }
        #expect(proposed)
        for _ in 0..<3 { try await agent.round() }
        #expect(hive.sent == ["reboot_instance i-2"])
        let record = try #require(try await current(fixture, "i-2"))
        #expect(record.needsPerson)
        #expect(try await fixture.store().pendingEvents().map(\.code) == [.instanceRetirement])
        try await fixture.store().approve(id: record.id, by: "operator")
        let done = try await roundsUntil(agent) { try await current(fixture, "i-2")?.state == .done }
        #expect(done)
        #expect(hive.sent == ["reboot_instance i-2", "delete_instance i-2"])
    }

    @Test("past the per-node rate limit, an automatic recovery waits for a person")
    func rateLimitReached() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        var settings = RecoverySettings.fast
        settings.automatic = true
        settings.maxPerNode = 1
        hive.completesStops.store(false, ordering: .releasing)
        try await hive.add(.init(id: "i-1", node: "node-a", ebs: true))
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        let agent = fixture.agent("node-a", recovery: settings)
        let first = try await roundsUntil(agent) { try await current(fixture, "i-1")?.state == .stopping }
        #expect(first)
        try await hive.add(.init(id: "i-3", node: "node-a", ebs: true))
        try await fixture.status("i-3", node: "node-a", system: .impaired)
        for _ in 0..<3 { try await agent.round() }
        let limited = try #require(try await current(fixture, "i-3"))
        #expect(limited.state == .proposed)
        #expect(limited.needsPerson)
        #expect(limited.reason.contains("rate limit"))
        #expect(hive.sent == ["stop_instance i-1"])
    }

    @Test("past the per-cluster rate limit, an automatic recovery waits for a person")
    func clusterRateLimitReached() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        var settings = RecoverySettings.fast
        settings.automatic = true
        settings.maxPerNode = 5
        settings.maxPerCluster = 1
        // A recovery approved a minute ago on another node counts against the cluster's limit.
        var earlier = RecoveryRecord(
            id: "i-x-1", instance: "i-x", node: "node-x", action: .reboot, reason: "test", owner: "node-x",
            at: Date().addingTimeInterval(-60), impairedSince: nil)
        earlier.move(to: .approved, at: Date().addingTimeInterval(-60), reason: "automatic", agent: "node-x")
        earlier.move(to: .done, at: Date().addingTimeInterval(-30), reason: "test", agent: "node-x")
        let store = try await fixture.store()
        let revision = try await store.insert(earlier, replacing: nil)
        _ = try await store.update(earlier, revision: revision)
        try await hive.add(.init(id: "i-1", node: "node-a", ebs: true))
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        let agent = fixture.agent("node-a", recovery: settings)
        for _ in 0..<3 { try await agent.round() }
        let limited = try #require(try await current(fixture, "i-1"))
        #expect(limited.state == .proposed)
        #expect(limited.reason.contains("in the cluster"))
        #expect(hive.sent.isEmpty)
    }

    @Test("a flapping failure and an instance-status impairment recover nothing")
    func flappingAndInstanceStatus() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        let events = try await fixture.collectEvents()
        defer { events.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-f", node: "node-a", ebs: true))
        try await hive.add(.init(id: "i-g", node: "node-a", ebs: true))
        try await fixture.status("i-f", node: "node-a", system: .impaired, flapping: true)
        try await fixture.status("i-g", node: "node-a", system: .ok, instanceStatus: .impaired)
        var settings = RecoverySettings.fast
        settings.automatic = true
        let agent = fixture.agent("node-a", recovery: settings)
        for _ in 0..<5 { try await agent.round() }
        #expect(try await fixture.store().current().isEmpty)
        #expect(hive.sent.isEmpty)
        let announced = await eventually(timeout: .seconds(5)) {
            events.events.contains { $0["kind"] == "person-needed" && $0["instance"] == "i-g" }
        }
        #expect(announced)
        #expect(events.events.filter { $0["kind"] == "person-needed" }.count == 1)
    }

    @Test("an agent restarted in the middle of a recovery resumes it and sends no step twice")
    func agentRestartMidRecovery() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        hive.completesStops.store(false, ordering: .releasing)
        try await hive.add(.init(id: "i-1", node: "node-a", ebs: true))
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        var settings = RecoverySettings.fast
        settings.automatic = true
        let firstConnection = try await fixture.newConnection()
        let first = fixture.agent("node-a", recovery: settings, connection: firstConnection)
        let stopping = try await roundsUntil(first) { try await current(fixture, "i-1")?.state == .stopping }
        #expect(stopping)
        firstConnection.close()

        // The agent process restarts: a new connection, a new policy, nothing kept in memory.
        let secondConnection = try await fixture.newConnection()
        defer { secondConnection.close() }
        let second = fixture.agent("node-a", recovery: settings, connection: secondConnection)
        for _ in 0..<3 { try await second.round() }
        #expect(try await current(fixture, "i-1")?.state == .stopping)
        #expect(hive.sent == ["stop_instance i-1"])
        try await hive.finishStop("i-1")
        let done = try await roundsUntil(second) { try await current(fixture, "i-1")?.state == .done }
        #expect(done)
        #expect(hive.sent == ["stop_instance i-1", "start_instance i-1"])
    }

    @Test("a command Hive refuses fails the recovery, with Hive's answer as the reason")
    func refusedCommandFails() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-1", node: "node-a", ebs: true))
        try await fixture.status("i-1", node: "node-a", system: .impaired)
        hive.refuses.store(true, ordering: .releasing)
        var settings = RecoverySettings.fast
        settings.automatic = true
        let agent = fixture.agent("node-a", recovery: settings)
        let failed = try await roundsUntil(agent) { try await current(fixture, "i-1")?.state == .failed }
        #expect(failed)
        #expect(try await current(fixture, "i-1")?.reason.contains("InvalidInstanceID") == true)
        for _ in 0..<3 { try await agent.round() }
        #expect(hive.sent == ["stop_instance i-1"])
    }

    @Test("a recovery whose owner agent went silent is adopted and finished, its sent step not repeated")
    func silentOwnerIsAdopted() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await singleAgentCluster(fixture)
        try await hive.add(.init(id: "i-9", node: "node-a", ebs: true))
        // node-gone proposed and approved it, sent stop_instance, then died (its agent is not heard).
        var record = RecoveryRecord(
            id: "i-9-1", instance: "i-9", node: "node-a", action: .stopStart, reason: "test", owner: "node-gone",
            at: Date(), impairedSince: nil)
        record.move(to: .approved, at: Date(), reason: "automatic", agent: "node-gone")
        record.move(to: .stopping, at: Date(), reason: "stop_instance sent to Hive", agent: "node-gone")
        try await fixture.store().insert(record, replacing: nil)
        try await hive.finishStop("i-9")
        let agent = fixture.agent("node-a")
        let done = try await roundsUntil(agent) { try await current(fixture, "i-9")?.state == .done }
        #expect(done)
        #expect(hive.sent == ["start_instance i-9"])
        let finished = try #require(try await current(fixture, "i-9"))
        #expect(finished.owner == "node-a")
        #expect(finished.steps.contains { $0.reason.contains("adopted by node-a") })
    }
}

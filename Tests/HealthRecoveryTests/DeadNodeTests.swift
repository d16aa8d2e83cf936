import Foundation
import HealthCore
import HealthNATS
import HealthRecovery
import HealthTestKit
import Synchronization
import Testing

@Suite("Quorum rules of the cluster view")
struct ClusterViewTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func view(agents: [String: Double], hive: [String: Double] = [:]) -> ClusterView {
        ClusterView(
            observer: "a", at: now, agentHeartbeats: agents.mapValues { now.addingTimeInterval(-$0) },
            hiveHeartbeats: hive.mapValues { now.addingTimeInterval(-$0) }, settings: .fast)
    }

    @Test func aSingleAgentClusterIsItsOwnQuorum() {
        let single = view(agents: ["a": 0])
        #expect(single.quorum == 1)
        #expect(single.hasQuorum)
    }

    @Test func theQuorumIsAMajorityOfTheMembersAndNeverBelowTwo() {
        #expect(view(agents: ["a": 0, "b": 0]).quorum == 2)
        #expect(view(agents: ["a": 0, "b": 0, "c": 0]).quorum == 2)
        #expect(view(agents: ["a": 0, "b": 0, "c": 0, "d": 0]).quorum == 3)
        // An agent heard an hour ago is no member any more.
        #expect(view(agents: ["a": 0, "b": 0, "c": 3600]).members == ["a", "b"])
    }

    @Test func anAgentHearingTooFewPeersHasNoQuorum() {
        let partitioned = view(agents: ["a": 0, "b": 10, "c": 10])
        #expect(partitioned.members.count == 3)
        #expect(partitioned.aliveAgents == ["a"])
        #expect(!partitioned.hasQuorum)
    }

    @Test func aNodeIsDeadWhenHiveAndItsAgentAreBothSilent() {
        let cluster = view(agents: ["a": 0, "b": 0, "d": 5], hive: ["b": 0, "d": 5, "e": 0])
        #expect(cluster.deathReason(of: "d") != nil)
        #expect(cluster.deathReason(of: "b") == nil)
        // Hive heard, no agent there: not dead.
        #expect(cluster.deathReason(of: "e") == nil)
        // Never itself.
        #expect(cluster.deathReason(of: "a") == nil)
    }

    @Test("a node with Spinifex's shutdown.<node> marker (a planned shutdown) is never dead")
    func aPlannedShutdownIsNotDeath() {
        var cluster = view(agents: ["a": 0, "b": 0, "d": 60], hive: ["b": 0, "d": 60])
        #expect(cluster.deathReason(of: "d") != nil)
        cluster.shutdownNodes = ["d"]
        #expect(cluster.deathReason(of: "d") == nil)
    }
}

@Suite("Peers decide a dead node, against a real nats-server", .serialized)
struct DeadNodeTests {
    /// Writes heartbeats for `nodes` every 200 ms until cancelled.
    func beat(_ fixture: RecoveryFixture, agents: [String], hive: [String]) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                for node in agents { try? await fixture.agentHeartbeat(node) }
                for node in hive { try? await fixture.hiveHeartbeat(node) }
                guard (try? await Task.sleep(for: .milliseconds(200))) != nil else { return }
            }
        }
    }

    @Test("node heartbeats stop -> its instances are system-impaired within max age + one interval, once")
    func peersDeclareADeadNodeOnce() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await hive.add(.init(id: "i-d1", node: "node-d", ebs: true))
        try await hive.add(.init(id: "i-d2", node: "node-d", ebs: false))
        let events = try await fixture.collectEvents()
        defer { events.stop() }
        let survivors = beat(fixture, agents: ["node-a", "node-b", "node-c"], hive: ["node-a", "node-b", "node-c"])
        defer { survivors.cancel() }
        let dying = beat(fixture, agents: ["node-d"], hive: ["node-d"])
        var recovery = RecoverySettings.fast
        recovery.automatic = false
        var agents: [Task<Void, Never>] = []
        for node in ["node-a", "node-b", "node-c"] {
            let connection = try await fixture.newConnection()
            let agent = fixture.agent(node, recovery: recovery, connection: connection)
            agents.append(Task { await agent.run(interval: PeerSettings.fast.interval) })
        }
        defer { agents.forEach { $0.cancel() } }
        // Alive: nobody is declared dead.
        try await Task.sleep(for: .seconds(1))
        #expect(try await fixture.bucket(fixture.subjects.votesBucket).get("dead.node-d") == nil)

        dying.cancel()
        let stopped = ContinuousClock.now
        let impaired = try await eventually(timeout: .seconds(15), poll: .milliseconds(50)) {
            let first = try await fixture.statusRecord("i-d1")?.status.system.status
            let second = try await fixture.statusRecord("i-d2")?.status.system.status
            return first == .impaired && second == .impaired
        }
        let took = ContinuousClock.now - stopped
        #expect(impaired)
        // max age 2 s + one 300 ms interval, plus the rounds' own time (KV reads) on a busy 2-core machine.
        #expect(took < .seconds(8), "took \(took)")
        func readVerdict() async throws -> DeadNodeVerdict? {
            guard let entry = try await fixture.bucket(fixture.subjects.votesBucket).get("dead.node-d") else {
                return nil
            }
            return try JSONDecoder.healthMessages.decode(DeadNodeVerdict.self, from: Data(entry.value))
        }
        let applied = try await eventually(timeout: .seconds(10)) { try await readVerdict()?.applied == true }
        #expect(applied)
        let verdict = try #require(try await readVerdict())
        #expect(verdict.voters.count >= 2)
        #expect(Set(verdict.instances) == ["i-d1", "i-d2"])
        // Rounds go on: the transitions are published once, by the one agent that declared the node dead.
        try await Task.sleep(for: .seconds(2))
        let transitions = events.events.filter { $0["check"] == DeadNodeDetector.checkName }
        #expect(transitions.count == 2, "\(transitions)")
        #expect(events.events.filter { $0["kind"] == "node-dead" }.count == 1)
        let record = try #require(try await fixture.statusRecord("i-d1"))
        #expect(record.node == "node-d")
        #expect(record.status.system.checks.first?.name == DeadNodeDetector.checkName)
        // A system impairment: with recovery_enabled = false, one proposal for each instance.
        let proposals = try await eventually(timeout: .seconds(10)) {
            try await fixture.store().open().count == 2
        }
        #expect(proposals)
        #expect(hive.sent.isEmpty)

        // The node comes back: the verdict goes.
        let revived = beat(fixture, agents: ["node-d"], hive: ["node-d"])
        let cleared = try await eventually(timeout: .seconds(10)) {
            try await fixture.bucket(fixture.subjects.votesBucket).get("dead.node-d") == nil
        }
        #expect(cleared)
        let alive = await eventually(timeout: .seconds(5)) { events.events.contains { $0["kind"] == "node-alive" } }
        #expect(alive)

        // It dies again: a new verdict, a new generation.
        revived.cancel()
        let again = try await eventually(timeout: .seconds(15)) {
            guard let next = try await readVerdict() else { return false }
            return next.applied && next.generation > verdict.generation
        }
        #expect(again)
    }

    @Test("an agent hearing fewer than a quorum of peers votes, declares and recovers nothing")
    func partitionedAgentDoesNothing() async throws {
        let fixture = try await RecoveryFixture()
        defer { fixture.stop() }
        let hive = try await HiveStandIn(fixture: fixture)
        defer { hive.stop() }
        try await hive.add(.init(id: "i-d1", node: "node-d", ebs: true))
        try await hive.add(.init(id: "i-a1", node: "node-a", ebs: true))
        // node-b and node-c were heard 20 s ago (members, not alive); node-d's heartbeats stopped long ago.
        let old = Date().addingTimeInterval(-20)
        for node in ["node-b", "node-c", "node-d"] {
            try await fixture.agentHeartbeat(node, at: old)
            try await fixture.hiveHeartbeat(node, at: old)
        }
        try await fixture.agentHeartbeat("node-a")
        try await fixture.hiveHeartbeat("node-a")
        try await fixture.status("i-a1", node: "node-a", system: .impaired)
        var recovery = RecoverySettings.fast
        recovery.automatic = true
        let agent = fixture.agent("node-a", recovery: recovery)
        for _ in 0..<5 {
            let round = try await agent.round()
            #expect(!round.view.hasQuorum)
            #expect(round.declared.isEmpty)
        }
        let votes = try await fixture.bucket(fixture.subjects.votesBucket).entries()
        #expect(votes.isEmpty, "\(votes.keys)")
        #expect(try await fixture.statusRecord("i-d1") == nil)
        #expect(try await fixture.store().current().isEmpty)
        #expect(hive.sent.isEmpty)
    }
}

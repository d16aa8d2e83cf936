import Foundation
import HealthCore
import HealthNATS
import HealthStateStore
import HealthTestKit
import Logging
import Testing

/// Issue 10 item 1: three agents on a three-server NATS cluster (JetStream, replicas 3) on loopback.
@Suite("Fleet: three agents on a three-server NATS cluster", .serialized)
struct FleetTests {
    @Test("the cluster fixture: a meta leader, a replicated bucket that survives losing a server, a restart")
    func clusterFixture() async throws {
        let cluster = try await NATSClusterFixture()
        defer { cluster.stopAll() }
        var configuration = NATSConfiguration(url: cluster.urls)
        configuration.replicas = 3
        configuration.reconnectMax = .milliseconds(250)
        let client = try await NATSConnection.connect(configuration, requireServer: true, logger: Logger(label: "t"))
        defer { client.close() }
        let bucket = try await client.keyValue(KeyValueBucketConfiguration(bucket: "fixture"))
        try await bucket.put("k", value: Array("v1".utf8))
        for index in cluster.members.indices {
            #expect(cluster.metaLeader(index) != nil, "member \(index) has no meta leader")
        }
        await offCooperativePool { cluster.kill9(0) }
        #expect(!cluster.isRunning(0))
        let written = await eventually(timeout: .seconds(30), poll: .milliseconds(200)) {
            (try? await bucket.put("k", value: Array("v2".utf8))) != nil
        }
        #expect(written, "no write with one server of three down")
        #expect(try await bucket.get("k")?.value == Array("v2".utf8))
        try await cluster.restart(0)
        // The restarted server catches up: a client of that server alone reads the write it missed.
        let only = try await NATSConnection.connect(
            NATSConfiguration(url: cluster.members[0].url), requireServer: true, logger: Logger(label: "t"))
        defer { only.close() }
        let caughtUp = await eventually(timeout: .seconds(30), poll: .milliseconds(200)) {
            (try? await only.keyValue("fixture").get("k"))?.value == Array("v2".utf8)
        }
        #expect(caughtUp)
    }

    @Test("each agent checks its own; any API answers for the fleet; a dead node once; losing a server loses nothing")
    func fleet() async throws {
        let fleet = try await FleetFixture()
        defer {
            fleet.stop()
            fleet.remove()
        }
        try fleet.startAgents()
        let (a, b, c) = (fleet.nodes[0], fleet.nodes[1], fleet.nodes[2])
        let everyInstance = fleet.nodes.flatMap(\.instances)

        // 1. Every API answers for all three nodes' instances, all system-ok.
        for node in fleet.nodes {
            let all = await eventually(timeout: .seconds(90), poll: .milliseconds(500)) {
                let statuses = await fleet.systemStatuses(via: node) ?? [:]
                return everyInstance.allSatisfy { statuses[$0] == "ok" }
            }
            let seen = await fleet.systemStatuses(via: node) ?? [:]
            #expect(all, "API of \(node.name): \(seen)\n\(fleet.logs)")
            guard all else { return }
        }
        // Each agent checked its own node's instances (and only those).
        for node in fleet.nodes {
            for instance in node.instances {
                let record = try await fleet.record(instance)
                #expect(record?.node == node.name, "\(instance): \(String(describing: record?.node))")
                #expect(record?.status.system.checks.map(\.name) == ["fleet.flag"])
            }
        }

        // 2. A transition on node-a is seen through node-b's API, and back.
        let flipped = a.instances[0]
        fleet.fail(flipped)
        #expect(
            await eventually(timeout: .seconds(30), poll: .milliseconds(200)) {
                await fleet.systemStatuses(via: b, instances: [flipped])?[flipped] == "impaired"
            })
        fleet.heal(flipped)
        #expect(
            await eventually(timeout: .seconds(30), poll: .milliseconds(200)) {
                await fleet.systemStatuses(via: b, instances: [flipped])?[flipped] == "ok"
            })

        // 3. node-c dies (its agent killed, Hive's heartbeat stops): its instances impaired once, for both others.
        await offCooperativePool { fleet.kill9(agent: c.name) }
        fleet.hiveAlive.nodes.withLock { _ = $0.remove(c.name) }
        for observer in [a, b] {
            let impaired = await eventually(timeout: .seconds(60), poll: .milliseconds(500)) {
                let statuses = await fleet.systemStatuses(via: observer, instances: c.instances) ?? [:]
                return c.instances.allSatisfy { statuses[$0] == "impaired" }
            }
            #expect(impaired, "API of \(observer.name) on \(c.name)'s instances\n\(fleet.logs)")
        }
        let votes = try await fleet.client.keyValue("\(fleet.subjects.prefix)-health-votes")
        let verdicts = try await votes.entries(matching: "dead.*")
        #expect(Array(verdicts.keys) == ["dead.\(c.name)"])
        // A few more peer rounds: still one verdict, one event per instance.
        try await Task.sleep(for: .seconds(3))
        let deadEvents = try await fleet.storedEvents().filter { $0["check"] == "node.heartbeat.peers" }
        for instance in c.instances {
            let failed = deadEvents.filter { $0["instance"] == instance && $0["to"] == "failed" }
            #expect(failed.count == 1, "\(deadEvents)")
        }
        #expect(try await votes.entries(matching: "dead.*").count == 1)

        // 4. One nats-server killed: nothing lost, agents keep publishing, a fault made meanwhile is one event.
        let fault = a.instances[1]
        let passedBefore = try await fleet.storedEvents().filter {
            $0["instance"] == fault && $0["check"] == "fleet.flag" && $0["to"] == "passed"
        }.count
        let heartbeats = try await fleet.statusBucket().entries(matching: "agent.*")
        await offCooperativePool { fleet.cluster.kill9(0) }
        fleet.fail(fault)
        #expect(
            await eventually(timeout: .seconds(60), poll: .milliseconds(500)) {
                await fleet.systemStatuses(via: b, instances: [fault])?[fault] == "impaired"
            }, "\(fleet.logs)")
        for instance in everyInstance {
            #expect(try await fleet.record(instance) != nil, "instance.\(instance) lost")
        }
        let published = await eventually(timeout: .seconds(30), poll: .milliseconds(500)) {
            guard let now = try? await fleet.statusBucket().entries(matching: "agent.*") else { return false }
            return [a, b].allSatisfy { node in
                (now["agent.\(node.name)"]?.revision ?? 0) > (heartbeats["agent.\(node.name)"]?.revision ?? 0)
            }
        }
        #expect(published, "the surviving agents' heartbeats did not move with a server down")

        // 5. The server comes back: everything converges, and every event is there exactly once.
        try await fleet.cluster.restart(0)
        fleet.heal(fault)
        for observer in [a, b] {
            #expect(
                await eventually(timeout: .seconds(60), poll: .milliseconds(500)) {
                    await fleet.systemStatuses(via: observer, instances: [fault])?[fault] == "ok"
                })
        }
        let only = try await NATSConnection.connect(
            NATSConfiguration(url: fleet.cluster.members[0].url), requireServer: true, logger: fleet.logger)
        defer { only.close() }
        let converged = await eventually(timeout: .seconds(60), poll: .milliseconds(500)) {
            guard let bucket = try? await only.keyValue(fleet.subjects.statusBucket),
                let entry = try? await bucket.get("instance.\(fault)"),
                let record = try? JSONDecoder.healthMessages.decode(
                    KeyValueStateStore.InstanceRecord.self, from: Data(entry.value))
            else { return false }
            return record.status.system.status == .ok
        }
        #expect(converged, "the restarted server did not catch up")
        let events = try await fleet.storedEvents().filter { $0["instance"] == fault && $0["check"] == "fleet.flag" }
        #expect(events.filter { $0["to"] == "failed" }.count == 1, "\(events)")
        #expect(events.filter { $0["to"] == "passed" }.count == passedBefore + 1, "\(events)")
    }
}

import Foundation
import HealthAPI
import HealthCore
import HealthDaemon
import HealthEngine
import HealthNATS
import HealthProbes
import HealthStateStore
import HealthTestKit
import Logging
import Testing

/// The daemon on a real nats-server: what a separate NATS client receives, and the restart guarantee on JetStream KV.
@Suite("Daemon on NATS", .serialized)
struct DaemonNATSTests {
    static let checks = """
        checks:
          - name: qemu.process
            probe: qemu.process
            target: instance
            interval: 300ms
            timeout: 200ms
            splay: 50ms
            thresholds:
              consecutive_failures: 2
        """

    let logger = Logger(label: "test")

    func natsSetup(
        _ fixture: DaemonFixture, server: NATSServerProcess, prefix: String = "hive", launchGrace: String = "5m"
    ) throws -> DaemonSetup {
        let toml = """
            node = "node-test"
            [nodes.node-test]
            az = "ap-southeast-2a"
            [nodes.node-test.nats]
            host = "127.0.0.1:\(server.port)"
            [health]
            launch_grace_period = "\(launchGrace)"
            [health.nats]
            prefix = "\(prefix)"
            status_interval = "1s"
            metrics_interval = "1s"
            """
        let path = fixture.root.appending(path: "hive.toml").path
        try Data(toml.utf8).write(to: URL(fileURLWithPath: path))
        var options = fixture.options()
        options.configPath = path
        return try DaemonSetup.resolve(options, registry: try ProbeRegistry(HealthProbesRegistry.probeTypes))
    }

    func client(_ server: NATSServerProcess) async throws -> NATSConnection {
        try await NATSConnection.connect(NATSConfiguration(url: server.url), requireServer: true, logger: logger)
    }

    /// The first JSON message on `subscription` that `match` accepts, within `timeout` (nil after it).
    func first(
        _ subscription: NATSSubscription, within timeout: Duration = .seconds(20),
        where match: ([String: Any]) -> Bool
    ) async throws -> [String: Any]? {
        try await withDeadline(timeout, onExpiry: { subscription.unsubscribe() }) {
            for await message in subscription {
                let json = try #require(try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
                if match(json) { return json }
            }
            return nil
        }
    }

    @Test("a separate NATS client receives status, events and metrics in the documented shapes")
    func publishesTheDocumentedShapes() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(Self.checks, to: "checks.yaml")
        try fixture.writeInventory(ids: ["i-0abc"])
        let setup = try natsSetup(fixture, server: server, prefix: "spinifex")
        let client = try await client(server)
        defer { client.close() }
        let status = try client.subscribe("spinifex.health.status")
        let events = try client.subscribe("spinifex.health.events")
        let metrics = try client.subscribe("spinifex.health.metrics")
        try await client.flush()

        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        #expect(daemon.store is KeyValueStateStore)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        defer { running.cancel() }

        // Status: an instance message that reached impaired on its instance category.
        var shapesOK = true
        let impairedStatus = try await first(status) { json in
            if json["node"] as? String != "node-test" || !["change", "snapshot"].contains(json["reason"] as? String) {
                shapesOK = false
            }
            let category = (json["instance"] as? [String: Any])?["instance"] as? [String: Any]
            return json["kind"] as? String == "instance" && category?["status"] as? String == "impaired"
        }?["instance"] as? [String: Any]
        #expect(shapesOK)
        let instance = try #require(impairedStatus)
        #expect(instance["instance_id"] as? String == "i-0abc")
        let category = try #require(instance["instance"] as? [String: Any])
        #expect(category["impaired_since"] is String)
        let check = try #require((category["checks"] as? [[String: Any]])?.first)
        #expect(check["name"] as? String == "qemu.process")
        #expect(check["status"] as? String == "failed")
        #expect(check["observed_at"] is String)

        // Events: the transition to failed, with its event id, also stored in the JetStream stream.
        let failedEvent = try await first(events) { $0["to"] as? String == "failed" }
        let event = try #require(failedEvent)
        #expect(event["instance"] as? String == "i-0abc")
        #expect(event["category"] as? String == "instance")
        #expect(event["check"] as? String == "qemu.process")
        #expect(event["event_id"] is String)
        #expect(event["at"] is String)
        let eventID = try #require(event["event_id"] as? String)
        let duplicate = try await client.publishJetStream(
            "spinifex.health.events", payload: Array("{}".utf8), messageID: eventID)
        #expect(duplicate.duplicate, "the stream de-duplicates by Nats-Msg-Id = event_id")
        #expect(duplicate.stream == "SPINIFEX_HEALTH_EVENTS")

        // The category's change, with the check that decided it, de-duplicated by its event id as well.
        let categoryEvent = try await first(events) {
            $0["type"] as? String == "category-transition" && $0["to"] as? String == "impaired"
        }
        let change = try #require(categoryEvent)
        #expect(change["instance"] as? String == "i-0abc")
        #expect(change["category"] as? String == "instance")
        #expect(change["impaired_since"] is String)
        #expect((change["checks"] as? [[String: Any]])?.map { $0["name"] as? String } == ["qemu.process"])
        let changeID = try #require(change["event_id"] as? String)
        #expect(changeID.hasPrefix("node-test/i-0abc/instance/"))
        let repeated = try await client.publishJetStream(
            "spinifex.health.events", payload: Array("{}".utf8), messageID: changeID)
        #expect(repeated.duplicate)

        // Another node's datapoints on the metrics subject reach this node's CloudWatch history.
        let now = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date())
        let foreign =
            #"{"Namespace":"AWS/EC2","Node":"node-other","MetricData":[{"MetricName":"StatusCheckFailed_System","#
            + #""Dimensions":[{"Name":"InstanceId","Value":"i-0f00"}],"Timestamp":"\#(now)","Value":1,"Unit":"Count"}]}"#
        let foreignID = MetricHistory.SeriesKey(instanceID: "i-0f00", metric: .system)
        #expect(
            await eventually(timeout: .seconds(20)) {
                try? client.publish("spinifex.health.metrics", payload: Array(foreign.utf8))
                return daemon.metricHistory.keys().contains(foreignID)
            })

        // Metrics: CloudWatch datapoints with StatusCheckFailed_Instance = 1.
        let failedMetric = try await first(metrics) { json in
            let data = json["MetricData"] as? [[String: Any]] ?? []
            return json["Namespace"] as? String == "AWS/EC2"
                && data.contains {
                    $0["MetricName"] as? String == "StatusCheckFailed_Instance" && $0["Value"] as? Double == 1
                }
        }
        let datapoints = try #require(failedMetric?["MetricData"] as? [[String: Any]])
        let combined = try #require(datapoints.first { $0["MetricName"] as? String == "StatusCheckFailed" })
        #expect(combined["Value"] as? Double == 1)
        #expect(combined["Unit"] as? String == "Count")
        #expect(combined["Timestamp"] is String)
        let dimensions = try #require(combined["Dimensions"] as? [[String: Any]])
        #expect(dimensions.first?["Name"] as? String == "InstanceId")
        #expect(dimensions.first?["Value"] as? String == "i-0abc")

        // The KV store has the instance's record.
        let bucket = try await client.keyValue("spinifex-health-status")
        #expect(await eventually(timeout: .seconds(5)) { (try? await bucket.get("instance.i-0abc")) != nil })
        let heartbeat = try #require(try await bucket.get("agent.node-test"))
        let beat = try #require(try JSONSerialization.jsonObject(with: Data(heartbeat.value)) as? [String: Any])
        #expect(beat["node"] as? String == "node-test")
        #expect(beat["timestamp"] is String)

        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("statuses, counters and ImpairedSince survive a daemon restart with the state in JetStream KV")
    func restartKeepsImpairmentOnKeyValue() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(Self.checks, to: "checks.yaml")
        try fixture.writeInventory(ids: ["i-0abc"])
        let setup = try natsSetup(fixture, server: server)

        let first = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        #expect(first.store is KeyValueStateStore)
        let group = first.makeServiceGroup()
        let running = Task { try await group.run() }
        #expect(
            await eventually(timeout: .seconds(20)) {
                first.evaluator.report().instances.first?.instance.status == .impaired
            })
        let since = try #require(first.evaluator.report().instances.first?.instance.impairedSince)
        await group.triggerGracefulShutdown()
        try await running.value
        let failuresBefore = try #require(first.evaluator.record(forKey: "qemu.process/i-0abc")?.state.consecutiveFailed)
        #expect(!FileManager.default.fileExists(atPath: fixture.state.path + "/state.json"), "no local file with NATS")

        // The nats-server restarts too: the state is on its disk.
        server.stop()
        try server.start()

        let second = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        let restored = try #require(second.evaluator.report().instances.first?.instance)
        #expect(restored.status == .impaired)
        #expect(sameMillisecond(restored.impairedSince, since))
        let group2 = second.makeServiceGroup()
        let running2 = Task { try await group2.run() }
        var sawOtherStatus = false
        let progressed = await eventually(timeout: .seconds(20)) {
            if second.evaluator.report().instances.first?.instance.status != .impaired { sawOtherStatus = true }
            return (second.evaluator.record(forKey: "qemu.process/i-0abc")?.state.consecutiveFailed ?? 0) > failuresBefore
        }
        #expect(progressed)
        #expect(!sawOtherStatus)
        #expect(sameMillisecond(second.evaluator.report().instances.first?.instance.impairedSince, since))
        await group2.triggerGracefulShutdown()
        try await running2.value
    }

    @Test("instances written into hive-instance-state join and leave the plan without a restart")
    func hiveKVInventoryFollowsHive() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(Self.checks, to: "checks.yaml")
        var setup = try natsSetup(fixture, server: server)
        setup.inventory = .hiveKV
        let client = try await client(server)
        defer { client.close() }
        let hive = try await client.keyValue(KeyValueBucketConfiguration(bucket: "hive-instance-state"))
        func vms(_ ids: [String]) -> [UInt8] {
            let records = ids.map { "\"\($0)\": {\"id\": \"\($0)\", \"status\": \"running\"}" }
            return Array("{\"vms\": {\(records.joined(separator: ", "))}}".utf8)
        }
        try await hive.put("node.node-test", value: vms(["i-0aaa"]))
        try await hive.put("node.other-node", value: vms(["i-0other"]))

        // The periodic refresh is far away: only the KV watch can bring changes in time.
        var timing = HealthDaemon.Timing.fast
        timing.inventoryRefresh = .seconds(120)
        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: timing)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        func ids() -> [String] { daemon.evaluator.report().instances.map(\.instanceID) }
        #expect(await eventually(timeout: .seconds(10)) { ids() == ["i-0aaa"] })
        try await hive.put("node.node-test", value: vms(["i-0aaa", "i-0bbb"]))
        #expect(await eventually(timeout: .seconds(10)) { ids() == ["i-0aaa", "i-0bbb"] })
        // A malformed record is skipped; the others stay.
        try await hive.put(
            "node.node-test",
            value: Array(#"{"vms": {"i-0bbb": {"id": "i-0bbb", "status": "running"}, "i-0bad": 7}}"#.utf8))
        #expect(await eventually(timeout: .seconds(10)) { ids() == ["i-0bbb"] })
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("a node whose heartbeat stops has every instance's system status impaired; a fresh heartbeat clears it")
    func silentNodeImpairsSystemStatus() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(
            """
            checks:
              - name: node.heartbeat
                probe: node.heartbeat
                target: node
                interval: 200ms
                splay: 50ms
                thresholds: {consecutive_failures: 2}
                params: {max_age: 2s}
            """, to: "checks.yaml")
        try fixture.writeInventory(ids: ["i-0abc"])
        // Node checks have a launch grace from the daemon's start; none here, so the first failures decide.
        let setup = try natsSetup(fixture, server: server, launchGrace: "0s")
        let client = try await client(server)
        defer { client.close() }
        let cluster = try await client.keyValue(KeyValueBucketConfiguration(bucket: "hive-cluster-state"))
        func beat(secondsAgo: Double) async throws {
            let stamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(
                Date().addingTimeInterval(-secondsAgo))
            try await cluster.put(
                "heartbeat.node-test", value: Array(#"{"node":"node-test","timestamp":"\#(stamp)"}"#.utf8))
        }
        try await beat(secondsAgo: 0)
        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        func system() -> SummaryStatus? { daemon.evaluator.report().instances.first?.system.status }
        #expect(await eventually(timeout: .seconds(10)) { system() == .ok })
        // Hive on this node stops writing: after max_age plus two runs, impaired.
        #expect(
            await eventually(timeout: .seconds(15)) { system() == .impaired },
            "\(String(describing: daemon.evaluator.report().instances.first?.system))")
        let message = daemon.evaluator.report().instances.first?.system.checks.first?.message ?? ""
        #expect(message.contains("silent"))
        try await beat(secondsAgo: 0)
        #expect(await eventually(timeout: .seconds(10)) { system() == .ok })
        // A heartbeat with a bad timestamp: unknown (insufficient data), not impaired, not a crash.
        try await cluster.put("heartbeat.node-test", value: Array("{\"timestamp\":\"not a time\"}".utf8))
        #expect(await eventually(timeout: .seconds(10)) { system() == .insufficientData })
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

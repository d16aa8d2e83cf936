import Foundation
import HealthCore
import HealthInventory
import HealthNATS
import HealthTestKit
import Logging
import Testing

/// The hive-kv inventory on records as Spinifex writes them (SpinifexVM: spinifex/vm/vm.go at ddf22cac).
@Suite("hive-kv inventory on Spinifex's records", .serialized)
struct SpinifexInventoryTests {
    let logger = Logger(label: "test")

    @Test("stopped instances (instance.<id>, last_node here) are listed as stopped; the health block is read")
    func stoppedInstancesAndHealthBlock() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { connection.close() }
        let bucket = try await connection.keyValue(KeyValueBucketConfiguration(bucket: "spinifex-instance-state"))
        var running = SpinifexVM(id: "i-0run", accountID: "123456789012")
        running.health.qmpConsecutiveFailures = 3
        running.health.impairedSince = "2026-08-19T10:00:00Z"
        running.extraENIs = [.init(eniID: "eni-0second", eniMAC: "02:00:00:00:00:02", eniIP: "10.0.0.9")]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        _ = try await bucket.put("node.node-1", value: Array(try encoder.encode(["vms": ["i-0run": running]])))
        var stopped = SpinifexVM(id: "i-0stop", status: "stopped")
        stopped.lastNode = "node-1"
        _ = try await bucket.put("instance.i-0stop", value: try stopped.encoded())
        var elsewhere = SpinifexVM(id: "i-0else", status: "stopped")
        elsewhere.lastNode = "node-2"
        _ = try await bucket.put("instance.i-0else", value: try elsewhere.encoded())

        let inventory = HiveKVInventory(
            keyValues: NATSKeyValueReader(connection: connection),
            bucket: HealthSubjects(prefix: "spinifex").instanceStateBucket, node: NodeInfo(name: "node-1"), layout: RuntimeLayout(directory: "/run/spinifex"), logger: logger)
        let snapshot = try await inventory.snapshot()
        #expect(snapshot.instances.map(\.id).sorted() == ["i-0run", "i-0stop"], "\(snapshot.skipped)")
        let stoppedInfo = try #require(snapshot.instances.first { $0.id == "i-0stop" })
        #expect(stoppedInfo.state.rawValue == "stopped")
        let runningInfo = try #require(snapshot.instances.first { $0.id == "i-0run" })
        #expect(runningInfo.state == .running)
        #expect(runningInfo.hiveHealth?.qmpConsecutiveFailures == 3)
        #expect(runningInfo.hiveHealth?.impairedSince == RFC3339.parse("2026-08-19T10:00:00Z"))
        // Go's zero time is no time.
        #expect(runningInfo.hiveHealth?.lastCrashTime == nil)
        #expect(runningInfo.extraENIs?.map(\.eniID) == ["eni-0second"])
        #expect(runningInfo.telemetryQMPSocket == "/run/spinifex/qmp-telemetry-i-0run.sock")
        #expect(runningInfo.hasGuestAgent == false)
    }
}

import Foundation
import HealthCore
import HealthNATS
import HealthStateStore
import HealthTestKit
import Logging
import Testing

/// A node's state over NATS' 1 MiB message limit (2,000 instances is about 2 MB) is saved in parts.
@Suite("KV state store: large states in parts")
struct ChunkedStateTests {
    static func state(instances count: Int, message: String) -> PersistedState {
        let check = CheckStatus(
            name: "fleet.flag", probe: "stub.file", target: "node", status: .passed,
            message: message + String(repeating: "x", count: 300),
            observedAt: Date(timeIntervalSince1970: 1_800_000_000))
        let category = CategoryStatus(status: .ok, checks: [check])
        let instances = (0..<count).map { index in
            InstanceHealth(
                instanceID: "i-\(String(format: "%08x", index))", state: .running, availabilityZone: "az1",
                system: category, instance: category, ebs: .notApplicable)
        }
        let report = HealthReport(node: NodeHealth(name: "node-big", system: category), instances: instances)
        return PersistedState(savedAt: Date(timeIntervalSince1970: 1_800_000_000), report: report, jobs: [:])
    }

    @Test("a state of several MB saves in parts and loads back whole; a smaller one replaces it; 3,000 records read")
    func largeStateRoundTrip() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: Logger(label: "test"))
        defer { connection.close() }
        let subjects = HealthSubjects(prefix: "hive")
        let store = try await KeyValueStateStore.open(
            connection: connection, subjects: subjects, node: "node-big", logger: Logger(label: "test"))
        let big = Self.state(instances: 3000, message: "first")
        #expect(try JSONEncoder.healthMessages.encode(big).count > 2 * KeyValueStateStore.partSize)
        try await store.save(big)
        // Every instance record is read back for the fleet's API, more than a watch buffers by default.
        #expect(try await store.instanceRecords().count == 3000)
        // A new store (a restarted daemon) reads the parts back.
        let reopened = try await KeyValueStateStore.open(
            connection: connection, subjects: subjects, node: "node-big", logger: Logger(label: "test"))
        #expect(try await reopened.load() == big)
        let bigger = Self.state(instances: 3000, message: "second")
        try await reopened.save(bigger)
        #expect(try await store.load() == bigger)
        // The first generation's parts are gone once the second is in force.
        let parts = try await store.bucket.entries(matching: "statepart.>")
        #expect(Set(parts.keys.map { $0.split(separator: ".")[2] }).count == 1, "\(parts.keys.sorted())")
        let small = Self.state(instances: 2, message: "small")
        try await reopened.save(small)
        #expect(try await store.load() == small)
        #expect(try await store.bucket.entries(matching: "statepart.>").isEmpty)
    }
}

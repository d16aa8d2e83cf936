import Foundation
import HealthCore
import HealthNATS
import HealthStateStore
import HealthTestKit
import Logging
import Testing

/// `instance.<id>` records are rewritten when a status changed, not on every save: every check run moves messages,
/// observation times and counters, and rewriting a large node's every record on every save held its transitions back.
@Suite("KV state store: instance records rewritten when a status changes")
struct RecordRewriteTests {
    static func state(_ status: DetailStatus, message: String, at seconds: TimeInterval) -> PersistedState {
        let at = Date(timeIntervalSince1970: 1_800_000_000 + seconds)
        let check = CheckStatus(
            name: "fleet.flag", probe: "stub.file", target: "i-0rewrite", status: status, message: message,
            observedAt: at, values: ["run": seconds])
        let category = CategoryStatus(
            status: status == .failed ? .impaired : .ok, impairedSince: status == .failed ? at : nil, checks: [check])
        let instance = InstanceHealth(
            instanceID: "i-0rewrite", state: .running, availabilityZone: "az1", system: category,
            instance: CategoryStatus(status: .ok), ebs: .notApplicable)
        let report = HealthReport(
            node: NodeHealth(name: "node-r", system: CategoryStatus(status: .ok)), instances: [instance])
        return PersistedState(savedAt: at, report: report, jobs: [:])
    }

    func message(_ entry: KeyValueEntry?) throws -> String? {
        let entry = try #require(entry)
        let record = try JSONDecoder.healthMessages.decode(
            KeyValueStateStore.InstanceRecord.self, from: Data(entry.value))
        return record.status.system.checks.first?.message
    }

    /// A KV state store of node `node-r` on a nats-server of its own, for `body`.
    func withBucket(_ body: (NATSKeyValue, Logger) async throws -> Void) async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let logger = Logger(label: "test")
        let connection = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { connection.close() }
        let opened = try await KeyValueStateStore.open(
            connection: connection, subjects: HealthSubjects(prefix: "hive"), node: "node-r", logger: logger)
        try await body(opened.bucket, logger)
    }

    @Test("same statuses: not rewritten until the refresh is due; a changed status: rewritten at the next save")
    func rewrittenOnStatusChange() async throws {
        try await withBucket { bucket, logger in
            let store = KeyValueStateStore(bucket: bucket, node: "node-r", recordRefresh: 3600, logger: logger)
            let key = "instance.i-0rewrite"

            try await store.save(Self.state(.passed, message: "run 1", at: 1))
            let first = try await store.bucket.get(key)
            #expect(try message(first) == "run 1")

            // Only the message, observation time and values moved: the record stays as it was.
            try await store.save(Self.state(.passed, message: "run 2", at: 2))
            let second = try await store.bucket.get(key)
            #expect(second?.revision == first?.revision)
            #expect(try message(second) == "run 1")
            // The whole state is saved every time all the same (it is what a restart restores).
            #expect(try await store.load() == Self.state(.passed, message: "run 2", at: 2))

            // A status changed: rewritten.
            try await store.save(Self.state(.failed, message: "flag present", at: 3))
            let third = try await store.bucket.get(key)
            #expect(third?.revision != second?.revision)
            #expect(try message(third) == "flag present")

            // With the refresh due on every save, the same statuses are written again with their new message.
            let eager = KeyValueStateStore(bucket: bucket, node: "node-r", recordRefresh: 0, logger: logger)
            try await eager.save(Self.state(.failed, message: "flag present, run 4", at: 4))
            try await eager.save(Self.state(.failed, message: "flag present, run 5", at: 5))
            #expect(try message(try await eager.bucket.get(key)) == "flag present, run 5")
        }
    }

    @Test("a whole save of a state older than a transition already written does not put the older record back")
    func olderSaveDoesNotOvertakeTransition() async throws {
        try await withBucket { bucket, logger in
            let store = KeyValueStateStore(bucket: bucket, node: "node-r", recordRefresh: 0, logger: logger)
            let key = "instance.i-0rewrite"

            try await store.save(Self.state(.passed, message: "run 1", at: 1))
            // The transition is written at once (the daemon's writeTransitions), from the state at 10 s...
            let failed = Self.state(.failed, message: "flag present", at: 10)
            try await store.writeChangedInstances(failed.report.instances, jobs: [:], at: failed.savedAt)
            #expect(try message(try await store.bucket.get(key)) == "flag present")
            // ...while a whole save of a state taken at 5 s, before it, finishes after it: the record stays the newer.
            try await store.save(Self.state(.passed, message: "run 5", at: 5))
            #expect(try message(try await store.bucket.get(key)) == "flag present")
            #expect(try await store.load() == Self.state(.passed, message: "run 5", at: 5), "the whole state is saved")
            // A save of a later state writes its own record again.
            try await store.save(Self.state(.failed, message: "flag present, run 11", at: 11))
            #expect(try message(try await store.bucket.get(key)) == "flag present, run 11")
            try await store.save(Self.state(.passed, message: "run 12", at: 12))
            #expect(try message(try await store.bucket.get(key)) == "run 12")
        }
    }
}

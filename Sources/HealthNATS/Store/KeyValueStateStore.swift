import Foundation
import HealthCore
import Logging
import Synchronization

/// The state store on JetStream KV (bucket `<prefix>-health-status`), chosen when NATS is configured.
///
/// `state.<node>` holds the whole ``PersistedState`` in one put, so a load after a crash sees the previous state or
/// the new one, never a mix (the same guarantee as the embedded file store). For other readers it also writes
/// `node.<node>` (the node's own status) and `instance.<id>` (an instance's status and its checks' evaluator
/// records), and deletes the `instance.<id>` keys of instances that left this node.
public final class KeyValueStateStore: StateStore {
    /// `instance.<id>`: one instance's latest status and evaluator records.
    public struct InstanceRecord: Sendable, Hashable, Codable {
        public var node: String
        public var savedAt: Date
        public var status: InstanceHealth
        public var jobs: [JobRecord]

        public init(node: String, savedAt: Date, status: InstanceHealth, jobs: [JobRecord] = []) {
            self.node = node
            self.savedAt = savedAt
            self.status = status
            self.jobs = jobs
        }

        enum CodingKeys: String, CodingKey {
            case node, status, jobs
            case savedAt = "saved_at"
        }
    }

    public let bucket: NATSKeyValue
    public let node: String
    private let written = Mutex<[String: [UInt8]]>([:])
    private let logger: Logger

    public init(bucket: NATSKeyValue, node: String, logger: Logger) {
        self.bucket = bucket
        self.node = node
        self.logger = logger
    }

    /// Opens (creating when missing) the status bucket of `subjects` on `connection`.
    public static func open(
        connection: NATSConnection, subjects: HealthSubjects, node: String, logger: Logger
    ) async throws(NATSError) -> KeyValueStateStore {
        var configuration = KeyValueBucketConfiguration(bucket: subjects.statusBucket)
        configuration.maxValueSize = 1024 * 1024
        let bucket = try await connection.keyValue(configuration)
        return KeyValueStateStore(bucket: bucket, node: node, logger: logger)
    }

    public static func stateKey(node: String) -> String { "state.\(node)" }

    /// Retries for up to five seconds while the server is not answering (it may be starting with us).
    public func load() async throws -> PersistedState? {
        var attempts = 0
        var found: KeyValueEntry?
        while true {
            do {
                found = try await bucket.get(Self.stateKey(node: node))
                break
            } catch {
                attempts += 1
                guard attempts < 20 else { throw error }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        guard let entry = found else { return nil }
        return try JSONDecoder.healthMessages.decode(PersistedState.self, from: Data(entry.value))
    }

    public func save(_ state: PersistedState) async throws {
        let encoder = JSONEncoder.healthMessages
        try await bucket.put(Self.stateKey(node: node), value: Array(try encoder.encode(state)))
        // The per-key views: written when they changed, best effort (the full state above is what restores).
        // Compared without their time stamp, so an unchanged instance is not rewritten on every save.
        var views: [String: (compare: [UInt8], value: [UInt8])] = [:]
        let nodeView = Array(try encoder.encode(state.report.node))
        views["node.\(node)"] = (nodeView, nodeView)
        let jobsByInstance = Dictionary(grouping: state.jobs.values.filter { $0.instanceID != nil }) {
            $0.instanceID ?? ""
        }
        for instance in state.report.instances {
            var record = InstanceRecord(
                node: node, savedAt: .distantPast, status: instance,
                jobs: (jobsByInstance[instance.instanceID] ?? []).sorted { $0.key < $1.key })
            let compare = Array(try encoder.encode(record))
            record.savedAt = state.savedAt
            views["instance.\(instance.instanceID)"] = (compare, Array(try encoder.encode(record)))
        }
        let previous = written.withLock { $0 }
        for (key, view) in views where previous[key] != view.compare {
            try await bucket.put(key, value: view.value)
        }
        for key in previous.keys where views[key] == nil && key.hasPrefix("instance.") {
            try? await bucket.delete(key)
        }
        written.withLock { $0 = views.mapValues(\.compare) }
    }

    /// The latest `instance.<id>` records of every node (what `hive-health status` shows cluster-wide).
    public func instanceRecords() async throws -> [InstanceRecord] {
        let watch = try await bucket.watch("instance.*")
        defer { watch.stop() }
        var records: [InstanceRecord] = []
        for await change in watch {
            switch change {
            case .put(let entry):
                if let record = try? JSONDecoder.healthMessages.decode(InstanceRecord.self, from: Data(entry.value)) {
                    records.append(record)
                }
            case .deleted: continue
            case .caughtUp: return records
            }
        }
        return records
    }
}

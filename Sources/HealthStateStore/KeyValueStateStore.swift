import Foundation
import HealthCore
import HealthNATS
import Logging
import Synchronization

/// The state store on JetStream KV (bucket `<prefix>-health-status`), chosen when NATS is configured.
///
/// `state.<node>` holds the whole ``PersistedState`` in one put, so a load after a crash sees the previous state or
/// the new one, never a mix (the same guarantee as the embedded file store). A state over ``partSize`` (a node with
/// a thousand instances or more) goes into `statepart.<node>.<generation>.<n>` values first and `state.<node>` then
/// holds their manifest, written last: the same guarantee. Parts of a save interrupted before its manifest stay
/// behind unreferenced (they are rare, and at most one state's size). For other readers it also writes
/// `node.<node>` (the node's own status) and `instance.<id>` (an instance's status and its checks' evaluator
/// records; rewritten when a status changed, else every ``recordRefresh``), and deletes the `instance.<id>` keys of
/// instances that left this node.
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
    /// What each per-key view held when last written (its comparison form) and when.
    private let written = Mutex<[String: (shown: Shown, at: Date)]>([:])
    /// The last record ``writeChangedInstances(_:jobs:at:)`` wrote for a key, with the moment its statuses were
    /// taken: a whole save of an older state must not put its record of that instance over it.
    private let transitionWrites = Mutex<[String: (at: Date, value: [UInt8])]>([:])
    /// A per-key view as compared between saves: the node's status as written, an instance's statuses alone.
    private enum Shown: Hashable, Sendable {
        case bytes([UInt8])
        case statuses(InstanceHealth)
    }
    /// An `instance.<id>` record whose statuses did not change is still rewritten this often, so its messages,
    /// observation times and counters do not grow older than this in other nodes' views.
    public let recordRefresh: TimeInterval
    /// The parts `state.<node>` refers to now, when it is in parts.
    private let parts = Mutex<(generation: UInt64, count: Int)?>(nil)
    private let logger: Logger

    public init(bucket: NATSKeyValue, node: String, recordRefresh: TimeInterval = 60, logger: Logger) {
        self.bucket = bucket
        self.node = node
        self.recordRefresh = recordRefresh
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

    /// A state larger than this is written in parts of this size: NATS refuses a message over its `max_payload`
    /// (1 MiB by default), and 2,000 instances' state is about 2 MB.
    public static let partSize = 512 * 1024
    /// Per-key views written at once by a save.
    static let concurrentWrites = 32

    /// `state.<node>` when the state is in parts: the parts are `statepart.<node>.<generation>.<index>`, written
    /// before this manifest, so a reader sees the previous complete state or the new one.
    struct PartsManifest: Codable {
        var parts: Int
        var generation: UInt64
        var bytes: Int

        enum CodingKeys: String, CodingKey {
            case parts = "state_parts"
            case generation, bytes
        }
    }

    static func partKey(node: String, generation: UInt64, index: Int) -> String {
        "statepart.\(node).\(generation).\(index)"
    }

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
        let decoder = JSONDecoder.healthMessages
        guard let manifest = try? decoder.decode(PartsManifest.self, from: Data(entry.value)) else {
            return try decoder.decode(PersistedState.self, from: Data(entry.value))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(manifest.bytes)
        for index in 0..<manifest.parts {
            let key = Self.partKey(node: node, generation: manifest.generation, index: index)
            guard let part = try await bucket.get(key) else {
                throw NATSError(code: .notFound, message: "kv \(bucket.bucket): \(key) of the saved state is missing")
            }
            bytes += part.value
        }
        parts.withLock { $0 = (manifest.generation, manifest.parts) }
        return try decoder.decode(PersistedState.self, from: Data(bytes))
    }

    /// Writes the whole state under `state.<node>`: in one value, or in parts and then their manifest.
    private func saveState(_ encoded: [UInt8]) async throws {
        let key = Self.stateKey(node: node)
        let previous = parts.withLock { $0 }
        if encoded.count <= Self.partSize {
            try await bucket.put(key, value: encoded)
            parts.withLock { $0 = nil }
        } else {
            let generation = max(UInt64(Date().timeIntervalSince1970 * 1000), (previous?.generation ?? 0) + 1)
            var count = 0
            var offset = 0
            while offset < encoded.count {
                let end = min(offset + Self.partSize, encoded.count)
                try await bucket.put(
                    Self.partKey(node: node, generation: generation, index: count), value: Array(encoded[offset..<end]))
                count += 1
                offset = end
            }
            let manifest = PartsManifest(parts: count, generation: generation, bytes: encoded.count)
            try await bucket.put(key, value: Array(try JSONEncoder.healthMessages.encode(manifest)))
            parts.withLock { $0 = (generation, count) }
        }
        // The previous parts are no longer referenced.
        if let previous {
            for index in 0..<previous.count {
                try? await bucket.delete(Self.partKey(node: node, generation: previous.generation, index: index))
            }
        }
    }

    public func save(_ state: PersistedState) async throws {
        let encoder = JSONEncoder.healthMessages
        try await saveState(Array(try encoder.encode(state)))
        // The per-key views: written when they changed, best effort (the full state above is what restores).
        // An instance is compared on what other nodes' APIs show (statuses, ImpairedSince): messages, observation
        // times and counters move on every check run, and rewriting (and encoding) every record of a large node on
        // every save held its transitions back by 10-20 s (docs/performance.md, fleet). Those are refreshed every
        // `recordRefresh`. Only the records to write are encoded.
        let nodeView = Array(try encoder.encode(state.report.node))
        var shown: [String: Shown] = ["node.\(node)": .bytes(nodeView)]
        var instances: [String: InstanceHealth] = [:]
        for instance in state.report.instances {
            let key = "instance.\(instance.instanceID)"
            shown[key] = .statuses(instance.statusesOnly)
            instances[key] = instance
        }
        let previous = written.withLock { $0 }
        let now = Date()
        let refresh = recordRefresh
        let due = shown.filter { key, view in
            guard let last = previous[key] else { return true }
            return last.shown != view || now.timeIntervalSince(last.at) >= refresh
        }
        let jobsByInstance = Dictionary(grouping: state.jobs.values.filter { $0.instanceID != nil }) {
            $0.instanceID ?? ""
        }
        // An instance whose transition was written from a later state than this one keeps that record: this
        // save's would put its older statuses back until the next save (seconds of a stale status elsewhere).
        let newer = transitionWrites.withLock { writes in Set(writes.filter { $0.value.at > state.savedAt }.keys) }
        var changed: [(String, [UInt8])] = []
        changed.reserveCapacity(due.count)
        for key in due.keys where !newer.contains(key) {
            guard let instance = instances[key] else {
                changed.append((key, nodeView))
                continue
            }
            let record = InstanceRecord(
                node: node, savedAt: state.savedAt, status: instance,
                jobs: (jobsByInstance[instance.instanceID] ?? []).sorted { $0.key < $1.key })
            changed.append((key, Array(try encoder.encode(record))))
        }
        // Written concurrently (a bounded number at once): one after the other, 2,000 replicated puts took 10-20 s
        // and held back every later save (docs/performance.md, fleet).
        try await put(changed)
        // A transition written while these puts were in flight may have reached the server before this save's older
        // record of the same instance: put it again, after. Transitions this state includes are no longer needed.
        let overtaken = transitionWrites.withLock { writes in
            let again = changed.compactMap { key, _ in
                writes[key].flatMap { $0.at > state.savedAt ? (key, $0.value) : nil }
            }
            writes = writes.filter { $0.value.at > state.savedAt }
            return again
        }
        try await put(overtaken)
        for key in previous.keys where shown[key] == nil && key.hasPrefix("instance.") {
            try? await bucket.delete(key)
        }
        let rewritten = Set(changed.map(\.0))
        // Keys left to a newer transition keep what they were last compared as, so the next save looks again.
        for key in newer where shown[key] != nil { shown[key] = previous[key]?.shown }
        written.withLock {
            $0 = shown.reduce(into: [:]) { result, view in
                let at = rewritten.contains(view.key) ? now : (previous[view.key]?.at ?? now)
                result[view.key] = (view.value, at)
            }
        }
    }

    /// Writes the `instance.<id>` records of instances whose statuses just changed, at once (the daemon calls it
    /// within ``HealthDaemon/Timing/transitionPersistence`` of a transition), so other nodes' fleet indexes see the
    /// change without waiting for the next whole save. `jobs` are the records that changed; the next ``save(_:)``
    /// rewrites these keys with every record of the instance (they are not marked written here).
    public func writeChangedInstances(_ instances: [InstanceHealth], jobs: [String: JobRecord], at: Date) async throws {
        guard !instances.isEmpty else { return }
        let encoder = JSONEncoder.healthMessages
        let byInstance = Dictionary(grouping: jobs.values.filter { $0.instanceID != nil }) { $0.instanceID ?? "" }
        var values: [(String, [UInt8])] = []
        values.reserveCapacity(instances.count)
        for instance in instances {
            let record = InstanceRecord(
                node: node, savedAt: at, status: instance,
                jobs: (byInstance[instance.instanceID] ?? []).sorted { $0.key < $1.key })
            values.append(("instance.\(instance.instanceID)", Array(try encoder.encode(record))))
        }
        transitionWrites.withLock { writes in
            for (key, value) in values where writes[key].map({ $0.at <= at }) ?? true { writes[key] = (at, value) }
        }
        try await put(values)
    }

    /// Puts `values`, a bounded number at once.
    private func put(_ values: [(String, [UInt8])]) async throws {
        let bucket = self.bucket
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for (key, value) in values {
                if inFlight >= Self.concurrentWrites {
                    try await group.next()
                    inFlight -= 1
                }
                group.addTask { try await bucket.put(key, value: value) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
    }

    /// The latest `instance.<id>` records of every node (what `hive-health status` shows cluster-wide).
    ///
    /// A snapshot read (every value delivered, none dropped however many instances the fleet has), bounded by
    /// `timeout`.
    public func instanceRecords(timeout: Duration = .seconds(10)) async throws -> [InstanceRecord] {
        let entries = try await bucket.entries(matching: "instance.*", timeout: timeout)
        let decoder = JSONDecoder.healthMessages
        return entries.values.compactMap { try? decoder.decode(InstanceRecord.self, from: Data($0.value)) }
    }
}

extension InstanceHealth {
    /// The statuses alone (no messages, observation times or values): what decides whether a record is rewritten.
    fileprivate var statusesOnly: InstanceHealth {
        func strip(_ category: CategoryStatus) -> CategoryStatus {
            var category = category
            category.checks = category.checks.map { check in
                var check = check
                check.message = ""
                check.observedAt = nil
                check.values = [:]
                return check
            }
            return category
        }
        var health = self
        health.system = strip(system)
        health.instance = strip(instance)
        health.ebs = strip(ebs)
        return health
    }
}

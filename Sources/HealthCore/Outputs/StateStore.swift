import Foundation

/// The evaluator's record of one job, as persisted.
public struct JobRecord: Sendable, Hashable, Codable {
    public var check: String
    public var probe: String
    public var category: HealthCategory
    public var targetKind: TargetKind
    public var targetID: String
    /// The instance the target belongs to (nil for node checks).
    public var instanceID: String?
    public var state: CheckState

    public init(
        check: String, probe: String, category: HealthCategory, targetKind: TargetKind, targetID: String,
        instanceID: String?, state: CheckState
    ) {
        self.check = check
        self.probe = probe
        self.category = category
        self.targetKind = targetKind
        self.targetID = targetID
        self.instanceID = instanceID
        self.state = state
    }

    /// The key of a job: check name and target id.
    public static func key(check: String, targetID: String) -> String { check + "/" + targetID }
    public var key: String { Self.key(check: check, targetID: targetID) }
}

/// Everything the daemon keeps across restarts: the latest report and every job's evaluator state.
public struct PersistedState: Sendable, Hashable, Codable {
    public static let currentVersion = 1

    public var version: Int
    public var savedAt: Date
    public var report: HealthReport
    public var jobs: [String: JobRecord]

    public init(savedAt: Date, report: HealthReport, jobs: [String: JobRecord]) {
        self.version = Self.currentVersion
        self.savedAt = savedAt
        self.report = report
        self.jobs = jobs
    }
}

/// A whole state to save, read in order by a store that writes it as it goes. A ``PersistedState`` is one; the
/// daemon's evaluator hands out another that builds each instance's report entry only as it is written, so saving a
/// large node never holds the whole state a second time.
public protocol StateSnapshot: Sendable {
    var savedAt: Date { get }
    var node: NodeHealth { get }
    var catalogue: CatalogueVersion? { get }
    /// The report's instances, in the report's order (by id).
    func forEachInstance<E: Error>(_ body: (InstanceHealth) throws(E) -> Void) throws(E)
    /// Every job's record with its key, each key once.
    func forEachJob<E: Error>(_ body: (String, JobRecord) throws(E) -> Void) throws(E)
}

extension StateSnapshot {
    /// The whole state in memory, for a store that writes it in one piece.
    public func materialized() -> PersistedState {
        var instances: [InstanceHealth] = []
        forEachInstance { instances.append($0) }
        var jobs: [String: JobRecord] = [:]
        forEachJob { key, record in jobs[key] = record }
        return PersistedState(
            savedAt: savedAt, report: HealthReport(node: node, instances: instances, catalogue: catalogue), jobs: jobs)
    }
}

extension PersistedState: StateSnapshot {
    public var node: NodeHealth { report.node }
    public var catalogue: CatalogueVersion? { report.catalogue }

    public func forEachInstance<E: Error>(_ body: (InstanceHealth) throws(E) -> Void) throws(E) {
        for instance in report.instances { try body(instance) }
    }

    public func forEachJob<E: Error>(_ body: (String, JobRecord) throws(E) -> Void) throws(E) {
        for (key, record) in jobs { try body(key, record) }
    }
}

/// Where the daemon keeps its state: an embedded file, or JetStream KV when NATS is configured.
///
/// - Important: ``save(_:)`` must be atomic: after a crash ``load()`` returns either the previous state or the new
///   one, never a mix.
public protocol StateStore: Sendable {
    /// The last saved state, or nil when there is none yet.
    func load() async throws -> PersistedState?
    func save(_ state: PersistedState) async throws
    /// Saves a snapshot as ``save(_:)`` does; a store that can write it as it reads it does not materialize it.
    func save(snapshot: some StateSnapshot) async throws
}

extension StateStore {
    public func save(snapshot: some StateSnapshot) async throws {
        try await save(snapshot.materialized())
    }
}

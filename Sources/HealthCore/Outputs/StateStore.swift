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

/// Where the daemon keeps its state: an embedded file, or JetStream KV when NATS is configured.
///
/// - Important: ``save(_:)`` must be atomic: after a crash ``load()`` returns either the previous state or the new
///   one, never a mix.
public protocol StateStore: Sendable {
    /// The last saved state, or nil when there is none yet.
    func load() async throws -> PersistedState?
    func save(_ state: PersistedState) async throws
}

import Foundation
import HealthCore
import HealthNATS
import Logging

/// The recovery records in the KV bucket `<prefix>-health-recovery`: `recovery.<instance>` is the instance's current
/// (or last) record, `history.<id>` a copy of every finished one, `maintenance.<instance>` the instance's maintenance
/// options (ModifyInstanceMaintenanceOptions' `AutoRecovery`). Every change is a compare-and-swap on the
/// revision read, so two agents (or an agent and a person) never both move one record.
public struct RecoveryStore: Sendable {
    public let bucket: NATSKeyValue
    public let readTimeout: Duration

    public init(bucket: NATSKeyValue, readTimeout: Duration = .seconds(5)) {
        self.bucket = bucket
        self.readTimeout = readTimeout
    }

    /// Opens the bucket of `subjects`, creating it when missing.
    public static func open(
        connection: NATSConnection, subjects: HealthSubjects, readTimeout: Duration = .seconds(5)
    ) async throws -> RecoveryStore {
        var configuration = KeyValueBucketConfiguration(bucket: subjects.recoveryBucket)
        configuration.history = 8
        return RecoveryStore(bucket: try await connection.keyValue(configuration), readTimeout: readTimeout)
    }

    /// A record and the KV revision it was read at.
    public struct Versioned: Sendable, Hashable {
        public var record: RecoveryRecord
        public var revision: UInt64
    }

    static func currentKey(_ instance: String) -> String { "recovery.\(instance)" }

    /// The current record of every instance that has one, by instance id.
    public func current() async throws -> [String: Versioned] {
        var result: [String: Versioned] = [:]
        for (_, entry) in try await bucket.entries(matching: "recovery.*", timeout: readTimeout) {
            guard let record = try? JSONDecoder.healthMessages.decode(RecoveryRecord.self, from: Data(entry.value))
            else { continue }
            result[record.instance] = Versioned(record: record, revision: entry.revision)
        }
        return result
    }

    static func maintenanceKey(_ instance: String) -> String { "maintenance.\(instance)" }

    /// Every instance's maintenance options that were set (ModifyInstanceMaintenanceOptions), by instance id.
    public func maintenanceOptions() async throws -> [String: InstanceMaintenanceOptions] {
        var result: [String: InstanceMaintenanceOptions] = [:]
        for (_, entry) in try await bucket.entries(matching: "maintenance.*", timeout: readTimeout) {
            guard
                let options = try? JSONDecoder.healthMessages.decode(
                    InstanceMaintenanceOptions.self, from: Data(entry.value))
            else { continue }
            result[options.instance] = options
        }
        return result
    }

    /// One instance's maintenance options, nil when never set.
    public func maintenanceOptions(instance: String) async throws -> InstanceMaintenanceOptions? {
        guard let entry = try await bucket.get(Self.maintenanceKey(instance)) else { return nil }
        return try? JSONDecoder.healthMessages.decode(InstanceMaintenanceOptions.self, from: Data(entry.value))
    }

    /// Writes an instance's maintenance options (the last write wins: a person's setting, not a state machine).
    public func setMaintenanceOptions(_ options: InstanceMaintenanceOptions) async throws {
        _ = try await bucket.put(
            Self.maintenanceKey(options.instance), value: Array(try JSONEncoder.healthMessages.encode(options)))
    }

    /// Every finished record, oldest first.
    public func history() async throws -> [RecoveryRecord] {
        try await bucket.entries(matching: "history.*", timeout: readTimeout).values.compactMap {
            try? JSONDecoder.healthMessages.decode(RecoveryRecord.self, from: Data($0.value))
        }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Records still open (proposed or running), oldest first.
    public func open() async throws -> [RecoveryRecord] {
        try await current().values.map(\.record).filter { !$0.state.isFinal }.sorted { $0.createdAt < $1.createdAt }
    }

    /// For the EC2 API's DescribeInstanceStatus `eventsSet`: one scheduled event per open recovery.
    public func pendingEvents() async throws -> [ScheduledEvent] {
        try await open().compactMap(\.scheduledEvent)
    }

    /// Writes a new current record for its instance: `replacing` is the revision of the previous (final) record,
    /// nil when the instance has none. ``RecoveryError/Code/conflict`` when someone else wrote first.
    @discardableResult
    public func insert(_ record: RecoveryRecord, replacing revision: UInt64?) async throws -> UInt64 {
        let value = Array(try JSONEncoder.healthMessages.encode(record))
        let result: Result<UInt64, NATSError>
        if let revision {
            result = await attempt { () async throws(NATSError) -> UInt64 in
                try await bucket.update(Self.currentKey(record.instance), value: value, expectedRevision: revision)
            }
        } else {
            result = await attempt { () async throws(NATSError) -> UInt64 in
                try await bucket.create(Self.currentKey(record.instance), value: value)
            }
        }
        if case .failure(let error) = result, error.code == .alreadyExists || error.code == .wrongRevision {
            throw RecoveryError(.conflict, "recovery of \(record.instance) written by another agent")
        }
        return try result.get()
    }

    /// Saves `record` if its key is still at `revision`; a final record is copied to the history too.
    public func update(_ record: RecoveryRecord, revision: UInt64) async throws -> UInt64 {
        let value = Array(try JSONEncoder.healthMessages.encode(record))
        let result = await attempt { () async throws(NATSError) -> UInt64 in
            try await bucket.update(Self.currentKey(record.instance), value: value, expectedRevision: revision)
        }
        if case .failure(let error) = result, error.code == .wrongRevision {
            throw RecoveryError(.conflict, "recovery \(record.id) changed meanwhile")
        }
        let written = try result.get()
        if record.state.isFinal { try await bucket.put("history.\(record.id)", value: value) }
        return written
    }

    /// The current record with this id.
    public func find(id: String) async throws -> Versioned {
        guard let found = try await current().values.first(where: { $0.record.id == id }) else {
            throw RecoveryError(.notFound, "no open recovery with id \(id)")
        }
        return found
    }

    /// A person approves a proposed recovery; the owning agent carries it out at its next round.
    @discardableResult
    public func approve(id: String, by person: String, at: Date = Date()) async throws -> RecoveryRecord {
        try await decide(id: id, to: .approved, reason: "approved by \(person)", by: person, at: at)
    }

    /// A person rejects a proposed recovery: nothing is done for this impairment.
    @discardableResult
    public func reject(id: String, by person: String, at: Date = Date()) async throws -> RecoveryRecord {
        try await decide(id: id, to: .rejected, reason: "rejected by \(person)", by: person, at: at)
    }

    private func decide(id: String, to state: RecoveryRecord.State, reason: String, by person: String, at: Date)
        async throws -> RecoveryRecord
    {
        var found = try await find(id: id)
        guard found.record.state == .proposed else {
            throw RecoveryError(
                .wrongState, "recovery \(id) is \(found.record.state), only a proposed one can be decided")
        }
        found.record.move(to: state, at: at, reason: reason, agent: person)
        found.record.needsPerson = false
        _ = try await update(found.record, revision: found.revision)
        return found.record
    }
}

/// The outcome of a KV operation as a value, so its error code can be looked at without a typed `catch` pattern.
private func attempt<T>(_ body: () async throws(NATSError) -> T) async -> Result<T, NATSError> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

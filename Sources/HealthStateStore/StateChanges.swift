import Foundation
import HealthCore

/// What changed since the last write to a ``FileStateStore``: the job records that moved and the report entries of
/// the instances whose statuses moved. Appended to the journal as one line (``FileStateStore/append(_:)``).
public struct StateChanges: Sendable, Hashable {
    public var at: Date
    /// Changed job records by key (``JobRecord/key``).
    public var jobs: [String: JobRecord]
    /// The node's health now (cheap: the node's own checks).
    public var node: NodeHealth?
    /// The report entries of the instances whose statuses changed; they replace the saved ones with the same id.
    public var instances: [InstanceHealth]

    public init(at: Date, jobs: [String: JobRecord], node: NodeHealth? = nil, instances: [InstanceHealth] = []) {
        self.at = at
        self.jobs = jobs
        self.node = node
        self.instances = instances
    }

    public var isEmpty: Bool { jobs.isEmpty && node == nil && instances.isEmpty }
}

/// One line of the journal as read back: the snapshot it follows (`base`, that snapshot's `savedAt`) and the
/// changes. Lines written after an older snapshot (a crash between a snapshot and the journal's removal) do not
/// match the snapshot on disk and are skipped.
struct StateJournalLine: Decodable {
    var base: Date
    var at: Date
    var jobs: [String: JobRecord]
    var node: NodeHealth?
    var instances: [InstanceHealth]?

    /// Encodes `changes` as one line, ending in a newline, handed to `emit` in pieces of about `piece` bytes: the
    /// final flush of a large fleet (every job's counters) is never whole in memory.
    static func encode<E: Error>(
        _ changes: StateChanges, base: Date, piece: Int = 1 << 20, _ emit: ([UInt8]) throws(E) -> Void
    ) throws(E) {
        var writer = StateJSONWriter(capacity: min(piece, 64 + changes.jobs.count * 400) + 16 * 1024)
        func spill(force: Bool = false) throws(E) {
            guard force || writer.bytes.count >= piece, !writer.bytes.isEmpty else { return }
            try emit(writer.bytes)
            writer.reset()
        }
        writer.raw("{\"base\":")
        writer.date(base)
        writer.raw(",\"at\":")
        writer.date(changes.at)
        writer.raw(",\"jobs\":{")
        var first = true
        for (key, record) in changes.jobs {
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
            writer.string(key)
            writer.byte(UInt8(ascii: ":"))
            writer.record(record)
            try spill()
        }
        writer.byte(UInt8(ascii: "}"))
        if let node = changes.node {
            writer.raw(",\"node\":")
            writer.node(node)
        }
        if !changes.instances.isEmpty {
            writer.raw(",\"instances\":[")
            for (position, health) in changes.instances.enumerated() {
                if position > 0 { writer.byte(UInt8(ascii: ",")) }
                writer.instance(health)
                try spill()
            }
            writer.byte(UInt8(ascii: "]"))
        }
        writer.raw("}\n")
        try spill(force: true)
    }

    /// Applies the line to a state loaded from the snapshot.
    func apply(to state: inout PersistedState, instanceIndex: inout [String: Int]) {
        for (key, record) in jobs { state.jobs[key] = record }
        if let node { state.report.node = node }
        for health in instances ?? [] {
            if let position = instanceIndex[health.instanceID] {
                state.report.instances[position] = health
            } else {
                instanceIndex[health.instanceID] = state.report.instances.count
                state.report.instances.append(health)
            }
        }
        state.savedAt = max(state.savedAt, at)
    }
}

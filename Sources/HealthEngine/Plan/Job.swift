import HealthCore

/// One check on one target: the unit the scheduler runs and the evaluator keeps state for.
///
/// A class: the plan, the scheduler's slots, the evaluator and every result share one copy of the job's check and
/// target (hundreds of bytes) instead of copying them, and passing a job on costs one reference count.
public final class Job: Sendable, Hashable {
    /// `check/target`, unique in a plan.
    public let key: String
    public let check: CheckDefinition
    public let target: Target
    /// The probe's parameters for this target: defaults applied, templates filled.
    public let parameters: ProbeParameters
    /// Why the parameters could not be filled for this target (the job then always reports unknown).
    public let parameterError: String?
    /// Where in its interval this job runs, from a stable hash of check name and target id.
    public let splayOffset: Duration

    public init(check: CheckDefinition, target: Target, parameters: ProbeParameters, parameterError: String? = nil) {
        self.key = JobRecord.key(check: check.name, targetID: target.id)
        self.check = check
        self.target = target
        self.parameters = parameters
        self.parameterError = parameterError
        self.splayOffset = Self.splay(check: check.name, target: target.id, window: check.splay)
    }

    /// FNV-1a of check name and target id, reduced into `0..<window`: the same on every restart and every node.
    public static func splay(check: String, target: String, window: Duration) -> Duration {
        let windowNanos = window.nanoseconds
        guard windowNanos > 0 else { return .zero }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in check.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        hash ^= 0
        hash &*= 0x100_0000_01b3
        for byte in target.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return .nanoseconds(Int64(hash % UInt64(windowNanos)))
    }

    public var instanceID: String? { target.instance?.id }

    /// The record the evaluator keeps for this job, with a fresh state.
    public func newRecord() -> JobRecord {
        JobRecord(
            check: check.name, probe: check.probe, category: check.category, targetKind: target.kind,
            targetID: target.id, instanceID: instanceID, state: CheckState())
    }

    public static func == (lhs: Job, rhs: Job) -> Bool {
        lhs.key == rhs.key && lhs.check == rhs.check && lhs.target == rhs.target && lhs.parameters == rhs.parameters
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}

import HealthCore

/// One check on one target: the unit the scheduler runs and the evaluator keeps state for.
///
/// A class: the plan, the scheduler's slots, the evaluator and every result share one job, and passing it on costs
/// one reference count. Its check is shared with the other jobs of that check and its target (an indirect enum) with
/// the other jobs on that target, so a job is about a hundred bytes, not a copy of both.
public final class Job: Sendable, Hashable {
    /// `check/target`, unique in a plan. Made when asked (plans, saves), not kept: 120,000 jobs would hold as many
    /// strings.
    public var key: String { JobRecord.key(check: check.name, targetID: target.id) }
    /// The check, shared by every job of it (`Plan.build` makes one ``SharedCheck`` per check): read in place, never
    /// copied out whole.
    public var check: CheckDefinition {
        _read { yield shared.check }
    }
    public let target: Target
    /// The probe's parameters for this target: defaults applied, templates filled.
    public let parameters: ProbeParameters
    /// Why the parameters could not be filled for this target (the job then always reports unknown).
    public let parameterError: String?
    /// Where in its interval this job runs, from a stable hash of check name and target id.
    public var splayOffset: Duration { .nanoseconds(splayNanos) }
    /// ``splayOffset`` in nanoseconds, as kept (8 bytes, not a `Duration`'s 16).
    let splayNanos: Int64

    private let shared: SharedCheck

    /// One check, held once for all of its jobs, with its interval, jitter and timeout in nanoseconds for the
    /// scheduler (a `Duration` is a 128-bit count of attoseconds: its nanoseconds are a 128-bit division).
    public final class SharedCheck: Sendable {
        public let check: CheckDefinition
        let intervalNanos: Int64
        let jitterNanos: Int64
        let timeoutNanos: Int64

        public init(_ check: CheckDefinition) {
            self.check = check
            intervalNanos = check.interval.nanoseconds
            jitterNanos = check.jitter.nanoseconds
            timeoutNanos = check.timeout.nanoseconds
        }
    }

    /// The check as shared by its jobs, with its times in the scheduler's units.
    var sharedCheck: SharedCheck { shared }

    public convenience init(
        check: CheckDefinition, target: Target, parameters: ProbeParameters, parameterError: String? = nil
    ) {
        self.init(shared: SharedCheck(check), target: target, parameters: parameters, parameterError: parameterError)
    }

    public init(shared: SharedCheck, target: Target, parameters: ProbeParameters, parameterError: String? = nil) {
        let check = shared.check
        self.shared = shared
        self.target = target
        self.instanceID = target.instance?.id
        self.parameters = parameters
        self.parameterError = parameterError
        self.splayNanos = Self.splay(check: check.name, target: target.id, window: check.splay).nanoseconds
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

    /// The instance the job is about (nil for node checks); kept, not derived per result, which would copy the
    /// instance's facts each time.
    public let instanceID: String?

    /// This job's record for the state store, with the evaluator's state of it.
    public func record(_ state: CheckState) -> JobRecord {
        JobRecord(
            check: check.name, probe: check.probe, category: check.category, targetKind: target.kind,
            targetID: target.id, instanceID: instanceID, state: state)
    }

    public static func == (lhs: Job, rhs: Job) -> Bool {
        lhs.key == rhs.key && lhs.check == rhs.check && lhs.target == rhs.target && lhs.parameters == rhs.parameters
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}

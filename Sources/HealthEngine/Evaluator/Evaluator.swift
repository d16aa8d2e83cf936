import Foundation
import HealthCore
import Synchronization

/// The evaluator of the running daemon: receives job results, keeps each job's ``CheckState``, turns transitions
/// into ``HealthEvent``s and answers the current ``HealthReport``. Restored from a ``PersistedState`` so that
/// statuses, counters and ImpairedSince survive restarts.
public final class Evaluator: ResultSink, Sendable {
    /// What the evaluation depends on besides the checks.
    public struct Settings: Sendable {
        /// Before their first decision, checks of an instance launched less than this long ago are `initializing`.
        public var launchGrace: Duration
        public var enabledCategories: Set<HealthCategory>
        /// Events kept for publishers that have not drained them; the oldest are dropped (and counted) past this.
        public var maxPendingEvents: Int

        public init(
            launchGrace: Duration = .seconds(300),
            enabledCategories: Set<HealthCategory> = Set(HealthCategory.allCases), maxPendingEvents: Int = 10_000
        ) {
            self.launchGrace = launchGrace
            self.enabledCategories = enabledCategories
            self.maxPendingEvents = maxPendingEvents
        }
    }

    private struct Inner {
        var node: NodeInfo
        var instances: [InstanceInfo] = []
        /// Each instance's position in `instances` (the first, should an id come twice): an instance's facts are
        /// held once.
        var instancePositions: [String: Int] = [:]
        /// Each instance's launch time, for the launch grace of every result (no copy of its facts per result).
        var launchTimes: [String: Date] = [:]
        /// The plan's jobs and their states, in plan order and at the same index (a job's slot): a result finds
        /// its state at the plan index the scheduler gives it (``JobResult/planIndex``), checked by the job's
        /// identity. A job's persisted ``JobRecord`` is made from the two when it is written (the job already holds its
        /// names and target).
        var jobs: [Job] = []
        var table = StateTable()
        var restored: [String: JobRecord] = [:]
        var firstSeen: [String: Date] = [:]
        var suppressions: [String: String] = [:]
        var events: [HealthEvent] = []
        var droppedEvents = 0
        var generation: UInt64 = 0
        var statusGeneration: UInt64 = 0
        var journalGeneration: UInt64 = 0
        var planned = false
        var catalogue: CatalogueVersion?
        /// Slots whose status (or flapping) moved since ``takeChanges(includeCounters:)`` last took them.
        var statusDirty: [Int] = []
        /// Slots whose counters alone moved since then.
        var counterDirty: [Int] = []
        /// Per slot: ``Dirty/status`` or ``Dirty/counters`` when it is in the list of that name (a flag array, not a
        /// set of keys: one store per result).
        var dirty: [UInt8] = []
        /// Instances whose report entry may have moved since then.
        var dirtyInstances: Set<String> = []
        /// The plan, the catalogue or a node check's status changed: only a whole snapshot will do.
        var snapshotNeeded = true
        /// The jobs of each instance, and the node's own, by key: a changed instance's report entry is built from
        /// these alone.
        var jobsByInstance: [String: [Int]] = [:]
        var nodeJobs: [Int] = []
        /// Per slot, when its target's launch grace ends (seconds since the reference date): a result compares one
        /// number instead of looking its instance up by id.
        var graceEnds: [Double] = []
        /// The last ``statusView()``: whole after a plan, then patched instance by instance on transitions.
        var view: HealthReport?
        var viewIndex: [String: Int] = [:]
        /// Instances with a transition since the view was last brought up to date.
        var viewDirty: Set<String> = []
        /// When the next launch grace ends (a status that moves with time alone): the view is rebuilt then.
        var viewExpires: Date?

        /// Sets `instances` and what is looked up by instance id.
        mutating func index(_ list: [InstanceInfo]) {
            instances = list
            instancePositions = [:]
            instancePositions.reserveCapacity(list.count)
            launchTimes = [:]
            for (position, instance) in list.enumerated() where instancePositions[instance.id] == nil {
                instancePositions[instance.id] = position
                if let launched = instance.launchTime { launchTimes[instance.id] = launched }
            }
        }

        func instance(_ id: String) -> InstanceInfo? { instancePositions[id].map { instances[$0] } }

        /// Positions in `instances`, in the report's order (by id).
        func positionsByID() -> [Int] { instances.indices.sorted { instances[$0].id < instances[$1].id } }

        /// A slot already in the counter list moves to the status list too (its counter entry is written again,
        /// harmlessly, when counters are taken).
        mutating func markStatusDirty(_ slot: Int) {
            guard dirty[slot] != Dirty.status else { return }
            dirty[slot] = Dirty.status
            statusDirty.append(slot)
        }

        /// Empties the status list, and the counter list with `counters` (its slots stay marked otherwise).
        mutating func clearDirty(counters: Bool) {
            for slot in statusDirty where slot < dirty.count { dirty[slot] = 0 }
            statusDirty.removeAll(keepingCapacity: true)
            if counters {
                for slot in counterDirty where slot < dirty.count { dirty[slot] = 0 }
                counterDirty.removeAll(keepingCapacity: true)
            }
        }
    }

    private enum Dirty {
        static let status: UInt8 = 1
        static let counters: UInt8 = 2
    }

    /// What the state store must write to catch up with this state (``takeChanges(includeCounters:)``).
    public enum PendingPersistence: Sendable {
        /// Nothing changed.
        case none
        /// Only a whole ``persistedState()`` will do: the plan, the catalogue or a node check's status changed.
        case snapshot
        /// The changed records, the node's health and the report entries of the instances whose statuses moved.
        case changes(records: [String: JobRecord], node: NodeHealth, instances: [InstanceHealth])
    }

    private let inner: Mutex<Inner>
    private let settings: Settings
    private let wallClock: @Sendable () -> Date
    private let startedAt: Date

    public init(
        node: NodeInfo, settings: Settings = Settings(), restored: PersistedState? = nil,
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        var inner = Inner(node: node)
        inner.restored = restored?.jobs ?? [:]
        if let restored {
            inner.index(
                restored.report.instances.map {
                    InstanceInfo(id: $0.instanceID, state: $0.state, availabilityZone: $0.availabilityZone)
                })
        }
        self.inner = Mutex(inner)
        self.settings = settings
        self.wallClock = wallClock
        self.startedAt = wallClock()
    }

    /// Bumped on every change of status, plan or events: publishers compare it to know when to write.
    public var generation: UInt64 { inner.withLock { $0.generation } }

    /// Bumped when the journal has something to write soon: a status or flapping change, a streak that began, grew
    /// toward its threshold or ended, or a new plan (``takeChanges(includeCounters:)`` without counters).
    public var journalGeneration: UInt64 { inner.withLock { $0.journalGeneration } }

    /// Bumped only when a status, flapping flag or the plan changed (not on every result): what must be saved soon.
    public var statusGeneration: UInt64 { inner.withLock { $0.statusGeneration } }

    /// The catalogue in force, shown in ``report()`` (and so in `status` and the state store).
    public var catalogue: CatalogueVersion? {
        get { inner.withLock { $0.catalogue } }
        set {
            inner.withLock { inner in
                guard inner.catalogue != newValue else { return }
                inner.catalogue = newValue
                inner.snapshotNeeded = true
                inner.view?.catalogue = newValue
                inner.generation &+= 1
                inner.statusGeneration &+= 1
                inner.journalGeneration &+= 1
            }
            changes.signal()
        }
    }

    /// Signalled whenever ``journalGeneration`` (and so ``statusGeneration``) may have moved: the state writers wait
    /// on it instead of polling.
    public let changes = ChangeSignal()

    /// Adopts a new plan: records of jobs that stay are kept; restored records are adopted by the jobs they belong
    /// to; records of jobs that left are dropped.
    public func apply(plan: Plan) {
        let now = wallClock()
        inner.withLock { inner in
            inner.node = plan.node
            inner.index(plan.instances)
            for instance in plan.instances where inner.firstSeen[instance.id] == nil {
                inner.firstSeen[instance.id] = now
            }
            inner.firstSeen = inner.firstSeen.filter { inner.instancePositions[$0.key] != nil }
            var states: [CheckState] = []
            states.reserveCapacity(plan.jobs.count)
            // The previous plan's slots by key, only while the new plan adopts their records.
            var previousSlots: [String: Int] = [:]
            previousSlots.reserveCapacity(inner.jobs.count)
            for (slot, job) in inner.jobs.enumerated() where previousSlots[job.key] == nil { previousSlots[job.key] = slot }
            var jobsByInstance: [String: [Int]] = [:]
            var nodeJobs: [Int] = []
            for (slot, job) in plan.jobs.enumerated() {
                let previous = previousSlots[job.key].map { (probe: inner.jobs[$0].check.probe, state: inner.table[$0]) }
                let adopted = previous ?? inner.restored.removeValue(forKey: job.key).map { ($0.probe, $0.state) }
                if let adopted, adopted.probe == job.check.probe {
                    states.append(adopted.state)
                } else {
                    states.append(CheckState())
                }
                if let instanceID = job.instanceID {
                    jobsByInstance[instanceID, default: []].append(slot)
                } else {
                    nodeJobs.append(slot)
                }
            }
            inner.jobs = plan.jobs
            inner.table = StateTable(states, after: inner.table)
            inner.jobsByInstance = jobsByInstance
            inner.nodeJobs = nodeJobs
            // Slots are renumbered: what was dirty is written whole with the snapshot a new plan asks for.
            inner.statusDirty.removeAll()
            inner.counterDirty.removeAll()
            inner.dirty = [UInt8](repeating: 0, count: plan.jobs.count)
            let grace = settings.launchGrace.seconds
            inner.graceEnds = plan.jobs.map { job in
                graceStart(instanceID: job.instanceID, inner: inner).timeIntervalSinceReferenceDate + grace
            }
            inner.snapshotNeeded = true
            inner.view = nil
            inner.planned = true
            inner.generation &+= 1
            inner.statusGeneration &+= 1
            inner.journalGeneration &+= 1
        }
        changes.signal()
    }

    /// Starts or ends a suppression window for an instance (paused, migrating, guest filesystems frozen): while it
    /// lasts, failures of its checks count as unknown.
    public func suppress(instance: String, reason: String?) {
        inner.withLock { inner in
            if let reason { inner.suppressions[instance] = reason } else { inner.suppressions[instance] = nil }
        }
    }

    public func record(_ result: JobResult) {
        let now = wallClock()
        let journalMoved = inner.withLock { inner in Self.record(result, at: now, into: &inner, settings: settings) }
        if journalMoved { changes.signal() }
    }

    /// A turn's results under one lock, at one moment, with one signal to the state writers.
    public func record(batch: [JobResult]) {
        guard !batch.isEmpty else { return }
        let now = wallClock()
        let journalMoved = inner.withLock { inner in
            var moved = false
            for result in batch {
                if Self.record(result, at: now, into: &inner, settings: settings) { moved = true }
            }
            return moved
        }
        if journalMoved { changes.signal() }
    }

    /// Applies one result; true when the journal has something new to write.
    private static func record(_ result: JobResult, at now: Date, into inner: inout Inner, settings: Settings) -> Bool {
        // The scheduler's plan index is the slot when both hold the same plan. Otherwise (a result without one, or
        // of a job of another plan, which is dropped) the jobs are searched: rare, and no table of 120,000 entries is
        // kept for it.
        let hinted = result.planIndex
        let slot: Int
        if hinted >= 0, hinted < inner.jobs.count, inner.jobs[hinted] === result.job {
            slot = hinted
        } else if let found = inner.jobs.firstIndex(where: { $0 === result.job }) {
            slot = found
        } else {
            return false
        }
        let instanceID = result.job.instanceID
        let grace = now.timeIntervalSinceReferenceDate < inner.graceEnds[slot]
        let suppression = inner.suppressions.isEmpty ? nil : instanceID.flatMap { inner.suppressions[$0] }
        let thresholds = result.job.check.thresholds
        let durableBefore = DurablePart(inner.table[slot], thresholds: thresholds)
        // Mutated in place: a copy of the state would copy its last observation's storage on every result.
        let transition = inner.table.update(slot) {
            $0.record(
                result.observation, at: now, thresholds: thresholds, suppression: suppression, inLaunchGrace: grace)
        }
        inner.generation &+= 1
        guard let transition else {
            if DurablePart(inner.table[slot], thresholds: thresholds) != durableBefore {
                // A streak began, grew toward its threshold or ended: a restart must continue it.
                inner.markStatusDirty(slot)
                inner.journalGeneration &+= 1
                return true
            } else if inner.dirty[slot] == 0 {
                inner.dirty[slot] = Dirty.counters
                inner.counterDirty.append(slot)
            }
            return false
        }
        inner.statusGeneration &+= 1
        inner.journalGeneration &+= 1
        inner.markStatusDirty(slot)
        if let instanceID {
            inner.dirtyInstances.insert(instanceID)
            if inner.view != nil { inner.viewDirty.insert(instanceID) }
        } else {
            // A node check feeds every instance's system category.
            inner.snapshotNeeded = true
            inner.view = nil
        }
        inner.events.append(
            HealthEvent(
                node: inner.node.name, instanceID: instanceID, category: result.job.check.category,
                check: result.job.check.name, probe: result.job.check.probe, target: result.job.target.id,
                transition: transition))
        if inner.events.count > settings.maxPendingEvents {
            let excess = inner.events.count - settings.maxPendingEvents
            inner.events.removeFirst(excess)
            inner.droppedEvents += excess
        }
        return true
    }

    /// What of a job's state a restart needs to decide as it would have: the decision, the flapping flag, the streak
    /// and its start, with each count capped at the threshold it counts toward. A pass after a pass, or an unknown
    /// after the unknowns already decided insufficient data, leaves it as it was: such results move counters alone
    /// (runs, history, the last observation), which are written with the next snapshot or at shutdown.
    private struct DurablePart: Equatable {
        var decided: DetailStatus?
        var flapping: Bool
        var failingSince: Date?
        var impairedSince: Date?
        var passed: Int
        var failed: Int
        var unknown: Int

        init(_ state: CheckState, thresholds: Thresholds) {
            decided = state.decided
            flapping = state.flapping
            failingSince = state.failingSince
            impairedSince = state.impairedSince
            passed = min(state.consecutivePassed, max(1, thresholds.consecutiveSuccesses))
            failed = min(state.consecutiveFailed, max(1, thresholds.consecutiveFailures))
            unknown = min(state.consecutiveUnknown, max(1, thresholds.consecutiveFailures))
        }
    }

    /// Takes the events not yet taken, oldest first.
    public func drainEvents() -> [HealthEvent] {
        inner.withLock { inner in
            defer { inner.events.removeAll() }
            return inner.events
        }
    }

    /// Events dropped because nobody drained them in time.
    public var droppedEvents: Int { inner.withLock { $0.droppedEvents } }

    /// The current view of the node and its instances.
    public func report() -> HealthReport {
        let now = wallClock()
        return inner.withLock { inner in
            if !inner.planned, !inner.restored.isEmpty {
                // Not planned yet after a restart: show what was saved rather than nothing.
                var report = restoredReport(inner: inner, now: now)
                report.catalogue = inner.catalogue
                return report
            }
            var report = fullReport(inner: inner, now: now)
            report.catalogue = inner.catalogue
            return report
        }
    }

    /// The whole report, built instance by instance from each one's own jobs (no list of every job's status).
    private func fullReport(inner: Inner, now: Date) -> HealthReport {
        report(positions: inner.positionsByID(), inner: inner, now: now)
    }

    /// The node's health and the report entries of the instances at `positions` (in that order).
    private func report(positions: [Int], inner: Inner, now: Date) -> HealthReport {
        let moment = now.timeIntervalSinceReferenceDate
        let nodeChecks = Self.statuses(
            of: inner.nodeJobs, jobs: inner.jobs, states: inner.table, graceEnds: inner.graceEnds, moment: moment)
        let enabled = settings.enabledCategories
        var instances: [InstanceHealth] = []
        instances.reserveCapacity(positions.count)
        for position in positions {
            let instance = inner.instances[position]
            instances.append(
                Self.instanceHealth(
                    instance, slots: inner.jobsByInstance[instance.id] ?? [], jobs: inner.jobs, states: inner.table,
                    graceEnds: inner.graceEnds, moment: moment, nodeChecks: nodeChecks, enabled: enabled))
        }
        return HealthReport(
            node: ReportBuilder.nodeHealth(inner.node, checks: nodeChecks, enabled: enabled), instances: instances)
    }

    /// The statuses of the jobs at `slots`, as the report shows them at `moment`.
    fileprivate static func statuses(
        of slots: [Int], jobs: [Job], states: StateTable, graceEnds: [Double], moment: Double
    ) -> [CheckStatus] {
        slots.map { status(of: states[$0], job: jobs[$0], inLaunchGrace: moment < graceEnds[$0]) }
    }

    /// One instance's report entry from its own jobs (`slots`) and the node's checks.
    fileprivate static func instanceHealth(
        _ instance: InstanceInfo, slots: [Int], jobs: [Job], states: StateTable, graceEnds: [Double],
        moment: Double, nodeChecks: [CheckStatus], enabled: Set<HealthCategory>
    ) -> InstanceHealth {
        let checks = slots.map { slot in
            (jobs[slot].check.category, status(of: states[slot], job: jobs[slot], inLaunchGrace: moment < graceEnds[slot]))
        }
        return Aggregator.instanceHealth(instance, nodeChecks: nodeChecks, checks: checks, enabled: enabled)
    }

    /// The statuses of the node and its instances, kept up to date by transitions instead of rebuilt: each category's
    /// status and ImpairedSince, without its checks (``report(instanceIDs:)`` has them). For readers of statuses
    /// alone (category transitions, the CloudWatch history), which would otherwise rebuild the whole ``report()`` of a
    /// large fleet every few seconds; its categories are computed from the records directly, so no list of check
    /// statuses is built for them.
    public func statusView() -> HealthReport {
        let now = wallClock()
        return inner.withLock { inner in
            if !inner.planned {
                inner.view = nil
                var report = inner.restored.isEmpty
                    ? ReportBuilder.build(
                        node: inner.node, instances: inner.instances, entries: [], enabled: settings.enabledCategories)
                    : restoredReport(inner: inner, now: now)
                report.catalogue = inner.catalogue
                return report.withoutChecks
            }
            if let expires = inner.viewExpires, now >= expires { inner.view = nil }
            let moment = now.timeIntervalSinceReferenceDate
            guard var view = inner.view else {
                let node = nodeTally(inner: inner, moment: moment)
                let report = HealthReport(
                    node: NodeHealth(name: inner.node.name, system: nodeStatus(node)),
                    instances: inner.positionsByID().map {
                        statuses(of: inner.instances[$0], node: node, inner: inner, moment: moment)
                    },
                    catalogue: inner.catalogue)
                inner.view = report
                inner.viewIndex = Dictionary(
                    report.instances.enumerated().map { ($1.instanceID, $0) }, uniquingKeysWith: { a, _ in a })
                inner.viewDirty.removeAll()
                inner.viewExpires = nextGraceEnd(inner: inner, now: now)
                return report
            }
            guard !inner.viewDirty.isEmpty else { return view }
            // Released first so the patch below does not copy the whole report.
            inner.view = nil
            let node = nodeTally(inner: inner, moment: moment)
            view.node.system = nodeStatus(node)
            for id in inner.viewDirty {
                guard let position = inner.viewIndex[id], let instance = inner.instance(id) else { continue }
                view.instances[position] = statuses(of: instance, node: node, inner: inner, moment: moment)
            }
            inner.viewDirty.removeAll()
            inner.view = view
            return view
        }
    }

    /// The report entries of the given instances (and the node's), as ``report()`` has them.
    public func report(instanceIDs: Set<String>) -> HealthReport {
        let now = wallClock()
        return inner.withLock { inner in
            guard inner.planned else {
                var report = restoredReport(inner: inner, now: now)
                report.instances.removeAll { !instanceIDs.contains($0.instanceID) }
                return report
            }
            return partialReport(instanceIDs: instanceIDs, inner: inner, now: now)
        }
    }

    /// The node checks' statuses, folded (they count in every instance's system category).
    private func nodeTally(inner: Inner, moment: Double) -> Aggregator.Tally {
        var tally = Aggregator.Tally()
        for slot in inner.nodeJobs { add(slot, to: &tally, inner: inner, moment: moment) }
        return tally
    }

    /// The node's system category from its checks' tally.
    private func nodeStatus(_ tally: Aggregator.Tally) -> CategoryStatus {
        tally.summary(applicable: settings.enabledCategories.contains(.system))
    }

    private func add(_ slot: Int, to tally: inout Aggregator.Tally, inner: Inner, moment: Double) {
        let state = inner.table[slot]
        let detail = state.status(inLaunchGrace: moment < inner.graceEnds[slot])
        tally.add(detail, impairedSince: detail == .failed ? state.impairedSince : nil)
    }

    /// One instance's categories from its jobs' records, without their checks.
    private func statuses(of instance: InstanceInfo, node: Aggregator.Tally, inner: Inner, moment: Double) -> InstanceHealth {
        var system = node
        var guest = Aggregator.Tally()
        var ebs = Aggregator.Tally()
        for slot in inner.jobsByInstance[instance.id] ?? [] {
            switch inner.jobs[slot].check.category {
            case .system: add(slot, to: &system, inner: inner, moment: moment)
            case .instance: add(slot, to: &guest, inner: inner, moment: moment)
            case .ebs: add(slot, to: &ebs, inner: inner, moment: moment)
            }
        }
        let enabled = settings.enabledCategories
        return InstanceHealth(
            instanceID: instance.id, state: instance.state, availabilityZone: instance.availabilityZone,
            system: system.summary(applicable: Aggregator.applies(.system, to: instance, enabled: enabled)),
            instance: guest.summary(applicable: Aggregator.applies(.instance, to: instance, enabled: enabled)),
            ebs: ebs.summary(applicable: Aggregator.applies(.ebs, to: instance, enabled: enabled)))
    }

    /// When the report next changes with time alone (the earliest end of a launch grace still running), nil when
    /// only results and plans will change it: a reader that caches the report keeps it until then.
    public var nextTimedChange: Date? {
        let now = wallClock()
        return inner.withLock { nextGraceEnd(inner: $0, now: now) }
    }

    /// The earliest end of a launch grace still running (an undecided check's status changes then).
    private func nextGraceEnd(inner: Inner, now: Date) -> Date? {
        let grace = settings.launchGrace.seconds
        var earliest: Date?
        func consider(_ start: Date) {
            let end = start.addingTimeInterval(grace)
            if end > now, end < (earliest ?? .distantFuture) { earliest = end }
        }
        consider(startedAt)
        for instance in inner.instances { consider(graceStart(instanceID: instance.id, inner: inner)) }
        return earliest
    }

    /// What the state store keeps, whole in memory (``snapshot()`` is what the daemon saves).
    public func persistedState() -> PersistedState {
        snapshot().materialized()
    }

    /// What the state store keeps, read as it is written: the evaluator's arrays as they are now (shared, not
    /// copied, until a result changes them), each instance's report entry built only when the store reaches it.
    public func snapshot() -> Snapshot {
        let now = wallClock()
        return inner.withLock { inner in
            var snapshot = Snapshot(
                savedAt: now, node: inner.node, catalogue: inner.catalogue, enabled: settings.enabledCategories)
            // Restored records not yet adopted by a plan are kept, so a restart before the first plan loses nothing.
            snapshot.restored = inner.restored
            guard inner.planned || inner.restored.isEmpty else {
                // Not planned yet after a restart: what was saved, as ``report()`` shows it.
                var report = restoredReport(inner: inner, now: now)
                report.catalogue = inner.catalogue
                snapshot.whole = report
                return snapshot
            }
            snapshot.instances = inner.instances
            snapshot.order = inner.positionsByID()
            snapshot.jobs = inner.jobs
            // Shared with the snapshot, not copied: results go beside it until the snapshot is written (a lease).
            snapshot.states = inner.table
            let epoch = inner.table.lease()
            snapshot.lease = Lease { [weak self] in self?.inner.withLock { $0.table.release(epoch) } }
            snapshot.graceEnds = inner.graceEnds
            snapshot.jobsByInstance = inner.jobsByInstance
            snapshot.nodeChecks = Self.statuses(
                of: inner.nodeJobs, jobs: inner.jobs, states: inner.table, graceEnds: inner.graceEnds,
                moment: now.timeIntervalSinceReferenceDate)
            return snapshot
        }
    }

    /// The evaluator's state at one moment, for the state store (``snapshot()``).
    public struct Snapshot: StateSnapshot {
        public let savedAt: Date
        let plannedNode: NodeInfo
        public let catalogue: CatalogueVersion?
        let enabled: Set<HealthCategory>
        var instances: [InstanceInfo] = []
        /// Positions in `instances`, by id.
        var order: [Int] = []
        var jobs: [Job] = []
        var states = StateTable()
        /// Released when the last copy of this snapshot goes: results then change the shared table in place again.
        var lease: Lease?
        var graceEnds: [Double] = []
        var jobsByInstance: [String: [Int]] = [:]
        var nodeChecks: [CheckStatus] = []
        var restored: [String: JobRecord] = [:]
        /// The whole report, before the first plan after a restart.
        var whole: HealthReport?

        init(savedAt: Date, node: NodeInfo, catalogue: CatalogueVersion?, enabled: Set<HealthCategory>) {
            self.savedAt = savedAt
            self.plannedNode = node
            self.catalogue = catalogue
            self.enabled = enabled
        }

        public var node: NodeHealth {
            whole?.node ?? ReportBuilder.nodeHealth(plannedNode, checks: nodeChecks, enabled: enabled)
        }

        public func forEachInstance<E: Error>(_ body: (InstanceHealth) throws(E) -> Void) throws(E) {
            if let whole {
                for health in whole.instances { try body(health) }
                return
            }
            let moment = savedAt.timeIntervalSinceReferenceDate
            for position in order {
                let instance = instances[position]
                try body(
                    Evaluator.instanceHealth(
                        instance, slots: jobsByInstance[instance.id] ?? [], jobs: jobs, states: states,
                        graceEnds: graceEnds, moment: moment, nodeChecks: nodeChecks, enabled: enabled))
            }
        }

        public func forEachJob<E: Error>(_ body: (String, JobRecord) throws(E) -> Void) throws(E) {
            var keys = Set<String>()
            if !restored.isEmpty { keys.reserveCapacity(jobs.count) }
            for (slot, job) in jobs.enumerated() {
                let key = job.key
                if !restored.isEmpty { keys.insert(key) }
                try body(key, job.record(states[slot]))
            }
            for (key, record) in restored where !keys.contains(key) { try body(key, record) }
        }
    }

    /// Takes what changed since the last call (or since the start) for the state store: records whose status moved
    /// always, records whose counters alone moved when `includeCounters`; the report entries of the instances whose
    /// statuses moved. ``PendingPersistence/snapshot`` when only a whole ``persistedState()`` will do; then the
    /// caller writes one, taken after this call, so nothing that changes in between is lost.
    ///
    /// - Parameter wholeAbove: a store that writes a whole state as it reads it (the file store) passes a share of the
    ///   jobs, e.g. 0.25: when more records than that changed (the final flush of every counter at shutdown), it gets
    ///   ``PendingPersistence/snapshot`` instead of a change set holding most of the state a second time.
    public func takeChanges(includeCounters: Bool, wholeAbove: Double? = nil) -> PendingPersistence {
        let now = wallClock()
        return inner.withLock { inner in
            let changed = inner.statusDirty.count + (includeCounters ? inner.counterDirty.count : 0)
            if let wholeAbove, inner.planned, Double(changed) > wholeAbove * Double(inner.jobs.count) {
                inner.snapshotNeeded = true
            }
            if inner.snapshotNeeded {
                inner.snapshotNeeded = false
                inner.clearDirty(counters: true)
                inner.dirtyInstances.removeAll()
                return .snapshot
            }
            guard !inner.statusDirty.isEmpty || (includeCounters && !inner.counterDirty.isEmpty) else { return .none }
            var records: [String: JobRecord] = [:]
            records.reserveCapacity(changed)
            for slot in inner.statusDirty { records[inner.jobs[slot].key] = inner.jobs[slot].record(inner.table[slot]) }
            if includeCounters {
                for slot in inner.counterDirty {
                    records[inner.jobs[slot].key] = inner.jobs[slot].record(inner.table[slot])
                }
            }
            inner.clearDirty(counters: includeCounters)
            let report = partialReport(instanceIDs: inner.dirtyInstances, inner: inner, now: now)
            inner.dirtyInstances.removeAll()
            return .changes(records: records, node: report.node, instances: report.instances)
        }
    }

    /// Makes the next ``takeChanges(includeCounters:)`` ask for a whole snapshot (after a failed write).
    public func requestSnapshot() {
        inner.withLock { $0.snapshotNeeded = true }
    }

    /// The node's health and the report entries of the given instances (by id), from their own jobs alone.
    private func partialReport(instanceIDs: Set<String>, inner: Inner, now: Date) -> HealthReport {
        report(positions: instanceIDs.sorted().compactMap { inner.instancePositions[$0] }, inner: inner, now: now)
    }

    /// The record of one job (tests, debugging).
    public func record(forKey key: String) -> JobRecord? {
        inner.withLock { inner in
            inner.jobs.firstIndex { $0.key == key }.map { inner.jobs[$0].record(inner.table[$0]) } ?? inner.restored[key]
        }
    }

    /// When a target's launch grace began: its instance's launch, else when it was first seen, else (and for the
    /// node) the daemon's start.
    private func graceStart(instanceID: String?, inner: Inner) -> Date {
        guard let instanceID else { return startedAt }
        return inner.launchTimes[instanceID] ?? inner.firstSeen[instanceID] ?? startedAt
    }

    /// A check's status for a job without a slot (a restored record before the first plan), its grace worked out.
    private func status(of state: CheckState, job: Job, inner: Inner, now: Date) -> CheckStatus {
        let graceAge = now.timeIntervalSince(graceStart(instanceID: job.instanceID, inner: inner))
        return Self.status(of: state, job: job, inLaunchGrace: graceAge < settings.launchGrace.seconds)
    }

    fileprivate static func status(of state: CheckState, job: Job, inLaunchGrace: Bool) -> CheckStatus {
        let detail = state.status(inLaunchGrace: inLaunchGrace)
        return CheckStatus(
            name: job.check.name, probe: job.check.probe, target: job.target.id, status: detail,
            message: state.lastObservation?.message ?? "not run yet", observedAt: state.lastObservedAt,
            impairedSince: detail == .failed ? state.impairedSince : nil, flapping: state.flapping,
            values: state.lastObservation?.values ?? [:])
    }

    private func restoredReport(inner: Inner, now: Date) -> HealthReport {
        let node = inner.node
        let entries = inner.restored.values.sorted { $0.key < $1.key }.map { record -> (job: Job, status: CheckStatus) in
            let check = CheckDefinition(
                name: record.check, category: record.category, probe: record.probe, target: record.targetKind)
            let instance = record.instanceID.flatMap { inner.instance($0) }
            let target: Target =
                switch record.targetKind {
                case .node: .node(node)
                case .instance: .instance(instance ?? InstanceInfo(id: record.targetID))
                case .volume:
                    .volume(VolumeInfo(id: record.targetID), of: instance ?? InstanceInfo(id: record.instanceID ?? ""))
                }
            let job = Job(check: check, target: target, parameters: ProbeParameters())
            return (job, status(of: record.state, job: job, inner: inner, now: now))
        }
        return ReportBuilder.build(
            node: node, instances: inner.instances, entries: entries, enabled: settings.enabledCategories)
    }
}

/// Every job's ``CheckState`` by slot. A snapshot being written shares the array (``Evaluator/snapshot()``); while it
/// does (a lease), a result's new state goes beside it, in `overlay`, instead of changing the shared array, which would
/// copy it whole (12 MB at 120,000 jobs) for one result. The overlay is folded back at the first result after the last
/// lease ends, or when it has grown to an eighth of the table (a snapshot held for long): then the array is copied
/// once and leases still out no longer count.
struct StateTable: Sendable {
    private var base: [CheckState] = []
    private var overlay: [Int: CheckState] = [:]
    /// Snapshots that share `base`.
    private var leases = 0
    /// Bumped with each new table and when leases stop counting: a lease of an older epoch releases nothing.
    private var epoch: UInt64 = 0

    init() {}

    /// A new table (a new plan) replacing `previous`, whose leases no longer count.
    init(_ states: [CheckState], after previous: StateTable) {
        base = states
        epoch = previous.epoch &+ 1
    }

    subscript(slot: Int) -> CheckState { overlay.isEmpty ? base[slot] : overlay[slot] ?? base[slot] }

    /// Takes a lease for a snapshot that shares the array; returns what ``release(_:)`` takes.
    mutating func lease() -> UInt64 {
        leases += 1
        return epoch
    }

    mutating func release(_ leaseEpoch: UInt64) {
        if leaseEpoch == epoch, leases > 0 { leases -= 1 }
    }

    /// Changes one state: in place when no snapshot shares the array, else in the overlay.
    mutating func update<R>(_ slot: Int, _ body: (inout CheckState) -> R) -> R {
        if leases > 0, overlay.count < max(1024, base.count / 8) {
            var state = self[slot]
            defer { overlay[slot] = state }
            return body(&state)
        }
        if !overlay.isEmpty {
            if leases > 0 {
                leases = 0
                epoch &+= 1
            }
            for (position, state) in overlay { base[position] = state }
            overlay.removeAll()
        }
        return body(&base[slot])
    }
}

/// Runs `release` when the last copy of what holds it goes.
final class Lease: Sendable {
    private let release: @Sendable () -> Void
    init(_ release: @escaping @Sendable () -> Void) { self.release = release }
    deinit { release() }
}

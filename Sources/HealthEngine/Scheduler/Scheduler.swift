import HealthCore
import Logging
import Synchronization

/// How many probe runs may be in flight at once.
public struct ConcurrencyLimits: Sendable, Hashable {
    /// All probe kinds together.
    public var global: Int
    /// Per probe kind, e.g. `["qmp.guest-ping": 16]`.
    public var perKind: [String: Int]

    public init(global: Int = 64, perKind: [String: Int] = [:]) {
        self.global = max(1, global)
        self.perKind = perKind
    }
}

/// The outcome of one job run, handed to a ``ResultSink``.
public struct JobResult: Sendable {
    public var job: Job
    public var observation: Observation
    /// The run was given up at its timeout (the observation is then unknown).
    public var timedOut: Bool
    /// The job's index in the plan the scheduler ran it from: the evaluator finds its state there when it holds the
    /// same plan (checked by the job's identity), without hashing.
    public var planIndex: Int

    public init(job: Job, observation: Observation, timedOut: Bool = false, planIndex: Int = -1) {
        self.job = job
        self.observation = observation
        self.timedOut = timedOut
        self.planIndex = planIndex
    }
}

/// Receives every job result. Called on the scheduler's loop: it must be quick and must not block.
///
/// The loop hands over the results of one turn together (``record(batch:)``), in the order they came: the runs
/// that finished, were given up or answered inline since it last woke. A sink that takes a lock per result takes it
/// once per batch instead.
public protocol ResultSink: Sendable {
    func record(_ result: JobResult)
    /// The results of one turn of the scheduler's loop, in order. The default records each in turn.
    func record(batch: [JobResult])
}

extension ResultSink {
    public func record(batch: [JobResult]) {
        for result in batch { record(result) }
    }
}

/// Counters of the scheduler, for metrics and tests.
public struct SchedulerStatistics: Sendable, Hashable {
    public var started = 0
    public var completed = 0
    /// Runs given up at their timeout (abandoned if the probe ignored cancellation).
    public var timedOut = 0
    /// Due runs skipped because the previous run of the job was still going.
    public var skippedOverlaps = 0
    /// Results that arrived after their run had been given up (ignored).
    public var lateResults = 0
    /// Largest delay between a run's due time and its start, in seconds.
    public var maxStartLag = 0.0
    public var jobs = 0
    public var running = 0
}

/// Runs the plan's jobs on their intervals (DESIGN §1): deterministic splay, optional jitter, a global and a
/// per-kind concurrency cap, a hard timeout per run, never two runs of one job at once, no catch-up after a stall.
///
/// Generic over `Clock` so tests drive time. All scheduling state lives in the ``run()`` loop; other tasks talk to
/// it through ``replace(_:)`` and ``trigger(reason:where:)``.
///
/// - Important: a probe run is an unstructured task on purpose: a probe that ignores cancellation must not hold a
///   slot or stall the loop, so at its timeout the run is reported unknown, cancelled and abandoned.
public final class Scheduler<C: Clock>: Sendable where C.Duration == Duration {
    private let clock: C
    private let probes: [String: any Probe]
    private let limits: ConcurrencyLimits
    private let sink: any ResultSink
    private let logger: Logger
    private let inbox = SchedulerInbox()
    private let statistics = Mutex(SchedulerStatistics())
    private let random: @Sendable (Int64) -> Int64
    private let batchWindow: Duration

    /// - Parameters:
    ///   - probes: one instance per kind (``ProbeRegistry/instantiate(environment:)``).
    ///   - batchWindow: the loop wakes at most once per window for due runs and finished ones (a plan or a trigger
    ///     still wakes it at once): thousands of runs a second then cost a hundred wakes, not thousands. Zero wakes
    ///     on every event (tests driving a `ManualClock`).
    ///   - random: a uniform random number in `0..<bound` (tests make jitter predictable).
    public init(
        clock: C, probes: [String: any Probe], limits: ConcurrencyLimits = ConcurrencyLimits(), sink: any ResultSink,
        logger: Logger, batchWindow: Duration = .zero,
        random: @escaping @Sendable (Int64) -> Int64 = { Int64.random(in: 0..<max(1, $0)) }
    ) {
        self.clock = clock
        self.probes = probes
        self.limits = limits
        self.sink = sink
        self.logger = logger
        self.batchWindow = max(.zero, batchWindow)
        self.random = random
    }

    /// Replaces the plan: jobs that stay keep their timing and state, new ones start after their splay, removed
    /// ones stop (a run in flight is cancelled).
    public func replace(_ plan: Plan) { inbox.post(.plan(plan)) }

    /// Runs the matching jobs now (those not already running), e.g. when a QMP event says an instance died.
    public func trigger(reason: String, where predicate: @escaping @Sendable (Job) -> Bool) {
        inbox.post(.trigger(predicate, reason: reason))
    }

    public var stats: SchedulerStatistics { statistics.withLock { $0 } }

    /// Runs until the task is cancelled. Call once.
    public func run() async {
        // The daemon's clock gets a loop compiled for it: generic over `C`, every instant compared and every timeline
        // entry moved went through witness tables and runtime metadata (about a third of the loop's CPU).
        if let continuous = self as? Scheduler<ContinuousClock> {
            await continuous.runOnContinuousClock()
            return
        }
        var driver = Driver(scheduler: self, oneShot: false)
        await driver.loop()
    }

    /// Runs every job of `plan` once, right away, within the same caps and timeouts, and returns the results in plan
    /// order (`hive-health check`).
    public func runOnce(_ plan: Plan) async -> [JobResult] {
        let collector = Collector()
        var driver = Driver(scheduler: self, oneShot: true, oneShotSink: collector)
        driver.apply(plan: plan, now: driver.epoch.duration(to: clock.now).nanoseconds, immediately: true)
        await driver.loop()
        let results = collector.results
        let order = Dictionary(plan.jobs.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        return results.sorted { (order[$0.job.key] ?? 0) < (order[$1.job.key] ?? 0) }
    }

    private final class Collector: ResultSink, Sendable {
        private let storage = Mutex<[JobResult]>([])
        func record(_ result: JobResult) { storage.withLock { $0.append(result) } }
        var results: [JobResult] { storage.withLock { $0 } }
    }

    // MARK: - The driver loop

    // Moments in the loop are nanoseconds since the driver's `epoch`, not `C.Instant`s nor `Duration`s: the standard
    // library's instants are resilient (their size is unknown outside it), so each copy, comparison and sum of one
    // went through witness tables and memmove, about a third of the loop's CPU; and a `Duration` is 128 bits of
    // attoseconds, each comparison a call and each conversion a 128-bit division.

    /// One job's timing, 32 bytes (one per job: 120,000 on a large node). A run in flight is held apart, in the
    /// driver's `inFlight`, by slot: a few dozen at a time, not a field in every slot.
    private struct Slot {
        var job: Job
        /// The due time of the cadence, without jitter.
        var baseDue: Int64
        /// Matches the token of the job's one live due event (``Event/token``).
        var dueToken: UInt32 = 0
        /// The job's index in the plan that last placed it (``JobResult/planIndex``).
        var planIndex: Int32
        private var kindIndex: UInt16
        private var checkIndex: UInt16
        private var flags: UInt8 = 0

        init(job: Job, kind: Int, planIndex: Int, check: Int, baseDue: Int64) {
            self.job = job
            self.baseDue = baseDue
            self.kindIndex = UInt16(kind)
            self.checkIndex = UInt16(check)
            self.planIndex = Int32(clamping: planIndex)
        }

        /// The index of the job's probe kind in the driver's per-kind arrays.
        var kind: Int {
            get { Int(kindIndex) }
            set { kindIndex = UInt16(newValue) }
        }
        /// The index of the job's check times in the driver's `timings`: a due run reads its interval there, not
        /// through the job and its check (two more cache misses per run at 120,000 jobs).
        var check: Int {
            get { Int(checkIndex) }
            set { checkIndex = UInt16(newValue) }
        }
        var queued: Bool {
            get { flags & 1 != 0 }
            set { flags = newValue ? flags | 1 : flags & ~1 }
        }
        /// A run is in flight (in `inFlight`).
        var running: Bool {
            get { flags & 2 != 0 }
            set { flags = newValue ? flags | 2 : flags & ~2 }
        }
        var ranOnce: Bool {
            get { flags & 4 != 0 }
            set { flags = newValue ? flags | 4 : flags & ~4 }
        }
    }

    /// The most probe kinds and distinct check times a plan may use (a slot keeps their indices in 16 bits).
    static var maxTableEntries: Int { Int(UInt16.max) }

    /// A check's interval, jitter and timeout in nanoseconds.
    private struct Timing: Hashable {
        var interval: Int64
        var jitter: Int64
        var timeout: Int64
    }

    private struct Running {
        var run: UInt64
        /// The kind it counts against (the job's kind may change with a new plan while it runs).
        var kind: Int
        var task: Task<Void, Never>?
        var started: Int64
    }

    /// A due time or a deadline in the timeline, 16 bytes. Its token is the low 32 bits of the due token or run it
    /// belongs to: a stale event is one whose token no longer matches, and a token comes round again only after four
    /// billion schedules (weeks at 2,000 a second, far longer than any event waits).
    private struct Event: TimedElement {
        enum Kind { case due, deadline }
        var at: Int64
        private var slotAndKind: UInt32
        var token: UInt32

        init(at: Int64, slot: Int, kind: Kind, token: UInt64) {
            self.at = at
            self.slotAndKind = UInt32(truncatingIfNeeded: slot) & 0x7FFF_FFFF | (kind == .deadline ? 0x8000_0000 : 0)
            self.token = UInt32(truncatingIfNeeded: token)
        }

        var slot: Int { Int(slotAndKind & 0x7FFF_FFFF) }
        var kind: Kind { slotAndKind & 0x8000_0000 != 0 ? .deadline : .due }
        var due: Int64 { at }
    }

    /// A FIFO of slot indices that can also take an urgent entry at the front.
    private struct SlotQueue {
        private var items: [Int] = []
        private var head = 0

        var isEmpty: Bool { head == items.count }

        mutating func append(_ slot: Int) { items.append(slot) }

        mutating func prepend(_ slot: Int) {
            if head > 0 {
                head -= 1
                items[head] = slot
            } else {
                items.insert(slot, at: 0)
            }
        }

        mutating func popFirst() -> Int? {
            guard head < items.count else { return nil }
            defer {
                head += 1
                if head > 1024, head * 2 > items.count {
                    items.removeFirst(head)
                    head = 0
                }
            }
            return items[head]
        }
    }

    /// All scheduling state, owned by the loop: slots in an array (stable indices, no copies on update), a timeline
    /// of due times and deadlines, and one ready queue per probe kind so a kind at its cap costs nothing to skip.
    private struct Driver {
        let scheduler: Scheduler
        let oneShot: Bool
        let sink: any ResultSink
        /// The node and logger of every request of this plan, held once.
        var context: ProbeRequest.Context
        var slots: [Slot?] = []
        var free: [Int] = []
        /// The runs in flight, by slot.
        var inFlight: [Int: Running] = [:]
        var timeline = TimingWheel<Event>(tick: .nanoseconds(1 << 24), bucketCount: 4096)
        /// Probe kinds by index: strings are looked up once per plan, not per run.
        var kindIndex: [String: Int] = [:]
        var kindNames: [String] = []
        var kindProbes: [(any Probe)?] = []
        var kindCaps: [Int] = []
        var ready: [SlotQueue] = []
        /// Kinds with a non-empty ready queue, in the order they get their turn.
        var readyKinds: [Int] = []
        var running = 0
        var runningByKind: [Int] = []
        /// The distinct interval, jitter and timeout of the plan's checks, by ``Slot/check`` (made anew with each
        /// plan).
        var timings: [Timing] = []
        var nextRun: UInt64 = 0
        var nextToken: UInt64 = 0
        var remainingOnce = 0
        /// Counted here and published once per loop turn: one lock per turn, not several per run.
        var counters = SchedulerStatistics()
        /// The results of this turn, handed to the sink together at its end (``flushResults()``).
        var results: [JobResult] = []

        /// The instant every moment of this driver counts from.
        let epoch: C.Instant

        init(scheduler: Scheduler, oneShot: Bool, oneShotSink: (any ResultSink)? = nil) {
            self.scheduler = scheduler
            self.epoch = scheduler.clock.now
            self.oneShot = oneShot
            self.sink = oneShotSink ?? scheduler.sink
            self.context = ProbeRequest.Context(node: NodeInfo(name: ""), logger: scheduler.logger)
        }

        var clock: C { scheduler.clock }

        mutating func loop() async {
            while !Task.isCancelled {
                let now = epoch.duration(to: clock.now).nanoseconds
                for message in scheduler.inbox.take() { handle(message, now: now) }
                processTimeline(now: now)
                startReady(now: now)
                flushResults()
                publishStatistics()
                if oneShot, remainingOnce == 0 { break }
                var wake = timeline.min?.at
                let window = scheduler.batchWindow.nanoseconds
                if window > 0 {
                    // At most one timed wake per window; with runs in flight, one within the window to take their
                    // results (which then do not wake the loop themselves).
                    let earliest = now + window
                    if running > 0 || (wake.map { $0 < earliest } ?? false) { wake = earliest }
                }
                await scheduler.inbox.wait(
                    until: wake.map { epoch.advanced(by: .nanoseconds($0)) }, clock: clock,
                    completionsWait: window > 0 && running > 0 && wake != nil)
            }
            flushResults()
            for running in inFlight.values { running.task?.cancel() }
        }

        mutating func handle(_ message: SchedulerInbox.Message, now: Int64) {
            switch message {
            case .plan(let plan):
                apply(plan: plan, now: now, immediately: false)
            case .trigger(let predicate, let reason):
                for position in slots.indices {
                    guard let slot = slots[position], !slot.running, !slot.queued, predicate(slot.job) else {
                        continue
                    }
                    scheduler.logger.debug("run now", metadata: ["job": "\(slot.job.key)", "reason": "\(reason)"])
                    enqueue(position, urgent: true)
                }
            case .completed(let position, let run, var observation, let elapsed):
                guard position < slots.count, let current = inFlight[position], current.run == run else {
                    counters.lateResults += 1
                    return
                }
                endRun(position)
                release(current.kind)
                observation = Self.sanitized(observation)
                observation.duration = elapsed.seconds
                finish(position, observation: observation)
            }
        }

        /// The index of a probe kind, added on first sight; nil when the table is full (``Scheduler/maxTableEntries``).
        mutating func kind(_ name: String) -> Int? {
            if let index = kindIndex[name] { return index }
            guard kindNames.count < Scheduler.maxTableEntries else { return nil }
            let index = kindNames.count
            kindIndex[name] = index
            kindNames.append(name)
            kindProbes.append(scheduler.probes[name])
            kindCaps.append(scheduler.limits.perKind[name] ?? Int.max)
            ready.append(SlotQueue())
            runningByKind.append(0)
            return index
        }

        mutating func apply(plan: Plan, now: Int64, immediately: Bool) {
            if plan.node != context.node { context = ProbeRequest.Context(node: plan.node, logger: scheduler.logger) }
            // The slots by key, only while the plan is applied (not kept beside them between plans).
            var index: [String: Int] = [:]
            index.reserveCapacity(slots.count)
            for (position, slot) in slots.enumerated() { if let slot { index[slot.job.key] = position } }
            var keep = Set<Int>()
            keep.reserveCapacity(plan.jobs.count)
            slots.reserveCapacity(plan.jobs.count)
            var timingIndex: [Timing: Int] = [:]
            timings.removeAll(keepingCapacity: true)
            var refused = 0
            for (planIndex, job) in plan.jobs.enumerated() {
                let shared = job.sharedCheck
                let timing = Timing(
                    interval: shared.intervalNanos, jitter: shared.jitterNanos, timeout: shared.timeoutNanos)
                var check = timingIndex[timing]
                if check == nil, timings.count < Scheduler.maxTableEntries {
                    check = timings.count
                    timingIndex[timing] = timings.count
                    timings.append(timing)
                }
                guard let check, let kindIndex = kind(job.check.probe) else {
                    refused += 1
                    continue
                }
                if let position = index[job.key], let existing = slots[position] {
                    keep.insert(position)
                    let cadenceChanged = existing.job.check.interval != job.check.interval
                        || existing.job.check.splay != job.check.splay
                    slots[position]?.job = job
                    slots[position]?.kind = kindIndex
                    slots[position]?.planIndex = Int32(clamping: planIndex)
                    slots[position]?.check = check
                    if cadenceChanged { schedule(position, baseDue: now + job.splayNanos, now: now) }
                    continue
                }
                let position: Int
                let slot = Slot(job: job, kind: kindIndex, planIndex: planIndex, check: check, baseDue: now)
                if let reused = free.popLast() {
                    position = reused
                    slots[position] = slot
                } else {
                    position = slots.count
                    slots.append(slot)
                }
                keep.insert(position)
                if immediately {
                    enqueue(position, urgent: false)
                    remainingOnce += 1
                } else {
                    schedule(position, baseDue: now + job.splayNanos, now: now)
                }
            }
            for position in slots.indices where !keep.contains(position) {
                guard slots[position] != nil else { continue }
                if let running = inFlight[position] {
                    running.task?.cancel()
                    release(running.kind)
                    endRun(position)
                }
                slots[position] = nil
                free.append(position)
            }
            if refused > 0 {
                let limit = Scheduler.maxTableEntries
                scheduler.logger.error(
                    "plan has more than \(limit) probe kinds or check timings: \(refused) jobs not scheduled")
            }
            // Timeline and ready entries of removed slots are dropped lazily: their tokens no longer match.
        }

        /// Sets a job's next due time to `baseDue` (plus jitter), skipping cadence points already past.
        mutating func schedule(_ position: Int, baseDue: Int64, now: Int64) {
            guard let check = slots[position]?.check else { return }
            let interval = timings[check].interval
            var base = baseDue
            if (base < now) && (interval > 0) {
                let missed = (now - base) / interval
                base += interval * missed
                if base < now { base += interval }
            }
            var due = base
            let spread = timings[check].jitter
            if spread > 0 {
                due += scheduler.random(2 * spread + 1) - spread
                if due < now { due = now }
            }
            nextToken &+= 1
            slots[position]?.baseDue = base
            slots[position]?.dueToken = UInt32(truncatingIfNeeded: nextToken)
            timeline.insert(Event(at: due, slot: position, kind: .due, token: nextToken))
        }

        mutating func enqueue(_ position: Int, urgent: Bool) {
            guard let kind = slots[position]?.kind else { return }
            slots[position]?.queued = true
            if ready[kind].isEmpty, !readyKinds.contains(kind) { readyKinds.append(kind) }
            if urgent { ready[kind].prepend(position) } else { ready[kind].append(position) }
        }

        /// Due runs go to the ready queues; runs past their deadline are given up.
        mutating func processTimeline(now: Int64) {
            while let event = timeline.popDue(now: now) {
                // Fields are read in place: copying the slot out would retain its job and task for each event.
                guard event.slot < slots.count, slots[event.slot] != nil else { continue }
                switch event.kind {
                case .deadline:
                    guard slots[event.slot]!.running, let running = inFlight[event.slot],
                        UInt32(truncatingIfNeeded: running.run) == event.token
                    else { continue }
                    expire(event.slot, running: running, now: now)
                case .due:
                    guard slots[event.slot]!.dueToken == event.token else { continue }
                    let nextBase = slots[event.slot]!.baseDue + timings[slots[event.slot]!.check].interval
                    if slots[event.slot]!.running || slots[event.slot]!.queued {
                        counters.skippedOverlaps += 1
                    } else {
                        enqueue(event.slot, urgent: false)
                    }
                    schedule(event.slot, baseDue: nextBase, now: now)
                }
            }
        }

        mutating func expire(_ position: Int, running: Running, now: Int64) {
            running.task?.cancel()
            endRun(position)
            guard let job = slots[position]?.job else { return }
            release(running.kind)
            counters.timedOut += 1
            var observation = Observation.unknown(
                "\(job.check.probe) did not answer within \(HealthDuration.format(job.check.timeout)); run abandoned")
            observation.duration = Double(now - running.started) / 1e9
            finish(position, observation: observation, timedOut: true)
        }

        /// Starts ready runs, kinds taking turns, until the global cap is reached; a kind at its cap waits.
        mutating func startReady(now: Int64) {
            var turn = 0
            var idleTurns = 0
            while running < scheduler.limits.global, !readyKinds.isEmpty, idleTurns < readyKinds.count {
                if turn >= readyKinds.count { turn = 0 }
                let kind = readyKinds[turn]
                if runningByKind[kind] >= kindCaps[kind] {
                    turn += 1
                    idleTurns += 1
                    continue
                }
                guard let position = ready[kind].popFirst() else {
                    readyKinds.remove(at: turn)
                    continue
                }
                // Entries of removed or already started slots are stale: skip them.
                guard slots[position]?.queued == true, slots[position]?.kind == kind else { continue }
                idleTurns = 0
                slots[position]?.queued = false
                start(position, now: now)
                turn += 1
            }
        }

        mutating func start(_ position: Int, now: Int64) {
            // Fields read in place: a copy of the slot would retain and release its job and task.
            guard case .some = slots[position] else { return }
            let job = slots[position]!.job
            let kind = slots[position]!.kind
            let baseDue = slots[position]!.baseDue
            let lag = baseDue < now ? Double(now - baseDue) / 1e9 : 0
            counters.started += 1
            if !oneShot { counters.maxStartLag = max(counters.maxStartLag, lag) }
            if let error = job.parameterError {
                finish(position, observation: .unknown(error))
                return
            }
            guard let probe = kindProbes[kind] else {
                finish(position, observation: .unknown("probe kind '\(job.check.probe)' is not registered"))
                return
            }
            let request = ProbeRequest(
                checkName: job.check.name, target: job.target, parameters: job.parameters, timeout: job.check.timeout,
                context: context)
            // A probe answering from memory is called inline: no task, no message back, no deadline to keep.
            if let observation = probe.observeNow(request) {
                finish(position, observation: Self.sanitized(observation))
                return
            }
            nextRun += 1
            let run = nextRun
            let inbox = scheduler.inbox
            let clock = scheduler.clock
            running += 1
            runningByKind[kind] += 1
            let timeout = timings[slots[position]!.check].timeout
            timeline.insert(Event(at: now + timeout, slot: position, kind: .deadline, token: run))
            let startedAt = epoch.advanced(by: .nanoseconds(now))
            let task = Task {
                let observation = await probe.observe(request)
                inbox.post(.completed(slot: position, run: run, observation: observation, elapsed: startedAt.duration(to: clock.now)))
            }
            slots[position]?.running = true
            inFlight[position] = Running(run: run, kind: kind, task: task, started: now)
        }

        /// Forgets the run in flight at `position` (its kind's count is released by the caller).
        mutating func endRun(_ position: Int) {
            inFlight[position] = nil
            if slots[position] != nil { slots[position]?.running = false }
        }

        mutating func release(_ kind: Int) {
            running -= 1
            runningByKind[kind] -= 1
        }

        /// A run's result for the sink (at the end of this turn).
        mutating func finish(_ position: Int, observation: Observation, timedOut: Bool = false) {
            guard let job = slots[position]?.job else { return }
            counters.completed += 1
            results.append(
                JobResult(
                    job: job, observation: observation, timedOut: timedOut,
                    planIndex: Int(slots[position]!.planIndex)))
            if oneShot, slots[position]?.ranOnce == false {
                slots[position]?.ranOnce = true
                remainingOnce -= 1
            }
        }

        /// Hands this turn's results to the sink, keeping the array's storage for the next turn.
        mutating func flushResults() {
            guard !results.isEmpty else { return }
            sink.record(batch: results)
            results.removeAll(keepingCapacity: true)
        }

        mutating func publishStatistics() {
            counters.jobs = slots.count - free.count
            counters.running = running
            let snapshot = counters
            scheduler.statistics.withLock { $0 = snapshot }
        }

        /// Bounds what a probe hands back: a message of at most 1,000 characters, finite values, at most 64 of them.
        static func sanitized(_ observation: Observation) -> Observation {
            var observation = observation
            if observation.message.utf8.count > 1000, observation.message.count > 1000 { observation.message = String(observation.message.prefix(1000)) + "…" }
            if observation.values.count > 64 || observation.values.values.contains(where: { !$0.isFinite }) {
                observation.values = Dictionary(
                    uniqueKeysWithValues: observation.values.filter { $0.value.isFinite }.sorted { $0.key < $1.key }
                        .prefix(64).map { ($0.key, $0.value) })
            }
            return observation
        }
    }
}

extension Scheduler where C == ContinuousClock {
    /// ``run()`` with the clock known here, so the optimizer specializes the loop for it.
    fileprivate func runOnContinuousClock() async {
        var driver = Driver(scheduler: self, oneShot: false)
        await driver.loop()
    }
}

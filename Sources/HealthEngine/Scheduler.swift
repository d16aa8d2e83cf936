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

    public init(job: Job, observation: Observation, timedOut: Bool = false) {
        self.job = job
        self.observation = observation
        self.timedOut = timedOut
    }
}

/// Receives every job result as it arrives. Called on the scheduler's loop: it must be quick and must not block.
public protocol ResultSink: Sendable {
    func record(_ result: JobResult)
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

    /// - Parameters:
    ///   - probes: one instance per kind (``ProbeRegistry/instantiate(environment:)``).
    ///   - random: a uniform random number in `0..<bound` (tests make jitter predictable).
    public init(
        clock: C, probes: [String: any Probe], limits: ConcurrencyLimits = ConcurrencyLimits(), sink: any ResultSink,
        logger: Logger, random: @escaping @Sendable (Int64) -> Int64 = { Int64.random(in: 0..<max(1, $0)) }
    ) {
        self.clock = clock
        self.probes = probes
        self.limits = limits
        self.sink = sink
        self.logger = logger
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
        var driver = Driver(scheduler: self, oneShot: false)
        await driver.loop()
    }

    /// Runs every job of `plan` once, right away, within the same caps and timeouts, and returns the results in plan
    /// order (`hive-health check`).
    public func runOnce(_ plan: Plan) async -> [JobResult] {
        let collector = Collector()
        var driver = Driver(scheduler: self, oneShot: true, oneShotSink: collector)
        driver.apply(plan: plan, now: clock.now, immediately: true)
        await driver.loop()
        let results = collector.results
        let order = Dictionary(uniqueKeysWithValues: plan.jobs.enumerated().map { ($1.key, $0) })
        return results.sorted { (order[$0.job.key] ?? 0) < (order[$1.job.key] ?? 0) }
    }

    private final class Collector: ResultSink, Sendable {
        private let storage = Mutex<[JobResult]>([])
        func record(_ result: JobResult) { storage.withLock { $0.append(result) } }
        var results: [JobResult] { storage.withLock { $0 } }
    }

    // MARK: - The driver loop

    private struct Slot {
        var job: Job
        /// The due time of the cadence, without jitter.
        var baseDue: C.Instant
        var dueToken: UInt64 = 0
        var queued = false
        var running: Running?
        var ranOnce = false
    }

    private struct Running {
        var run: UInt64
        var task: Task<Void, Never>?
        var deadline: C.Instant
        var started: C.Instant
    }

    private struct Event {
        enum Kind { case due, deadline }
        var at: C.Instant
        var key: String
        var kind: Kind
        var token: UInt64
    }

    private struct Driver {
        let scheduler: Scheduler
        let oneShot: Bool
        let sink: any ResultSink
        var node = NodeInfo(name: "")
        var slots: [String: Slot] = [:]
        var timeline = EventHeap<Event>(by: { $0.at < $1.at })
        var ready: [String] = []
        var running = 0
        var runningByKind: [String: Int] = [:]
        var nextRun: UInt64 = 0
        var nextToken: UInt64 = 0
        var remainingOnce = 0

        init(scheduler: Scheduler, oneShot: Bool, oneShotSink: (any ResultSink)? = nil) {
            self.scheduler = scheduler
            self.oneShot = oneShot
            self.sink = oneShotSink ?? scheduler.sink
        }

        var clock: C { scheduler.clock }

        mutating func loop() async {
            while !Task.isCancelled {
                let now = clock.now
                for message in scheduler.inbox.take() { handle(message, now: now) }
                expireRuns(now: now)
                collectDue(now: now)
                startReady(now: now)
                publishStatistics()
                if oneShot, remainingOnce == 0 { break }
                await scheduler.inbox.wait(until: timeline.min?.at, clock: clock)
            }
            for slot in slots.values { slot.running?.task?.cancel() }
        }

        mutating func handle(_ message: SchedulerInbox.Message, now: C.Instant) {
            switch message {
            case .plan(let plan):
                apply(plan: plan, now: now, immediately: false)
            case .trigger(let predicate, let reason):
                for (key, slot) in slots where slot.running == nil && !slot.queued && predicate(slot.job) {
                    scheduler.logger.debug("run now", metadata: ["job": "\(key)", "reason": "\(reason)"])
                    slots[key]?.queued = true
                    ready.insert(key, at: 0)
                }
            case .completed(let key, let run, var observation, let elapsed):
                guard var slot = slots[key], let current = slot.running, current.run == run else {
                    scheduler.statistics.withLock { $0.lateResults += 1 }
                    return
                }
                slot.running = nil
                slots[key] = slot
                release(slot.job)
                observation = Self.sanitized(observation)
                observation.duration = elapsed.seconds
                finish(slot.job, JobResult(job: slot.job, observation: observation))
            }
        }

        mutating func apply(plan: Plan, now: C.Instant, immediately: Bool) {
            node = plan.node
            var keep = Set<String>()
            keep.reserveCapacity(plan.jobs.count)
            for job in plan.jobs {
                keep.insert(job.key)
                if var slot = slots[job.key] {
                    let cadenceChanged = slot.job.check.interval != job.check.interval
                        || slot.job.check.splay != job.check.splay
                    slot.job = job
                    slots[job.key] = slot
                    if cadenceChanged { schedule(job.key, baseDue: now.advanced(by: job.splayOffset), now: now) }
                } else {
                    slots[job.key] = Slot(job: job, baseDue: now)
                    if immediately {
                        slots[job.key]?.queued = true
                        ready.append(job.key)
                        remainingOnce += 1
                    } else {
                        schedule(job.key, baseDue: now.advanced(by: job.splayOffset), now: now)
                    }
                }
            }
            for (key, slot) in slots where !keep.contains(key) {
                if slot.running != nil {
                    slot.running?.task?.cancel()
                    release(slot.job)
                }
                slots[key] = nil
            }
            if ready.contains(where: { slots[$0] == nil }) { ready.removeAll { slots[$0] == nil } }
        }

        /// Sets a job's next due time to `baseDue` (plus jitter), skipping cadence points already past.
        mutating func schedule(_ key: String, baseDue: C.Instant, now: C.Instant) {
            guard var slot = slots[key] else { return }
            let interval = slot.job.check.interval
            var base = baseDue
            if (base < now) && (interval > .zero) {
                let behind = base.duration(to: now)
                let missed = behind.nanoseconds / max(1, interval.nanoseconds)
                base = base.advanced(by: interval * Int(missed))
                if base < now { base = base.advanced(by: interval) }
            }
            var due = base
            let jitter = slot.job.check.jitter.nanoseconds
            if jitter > 0 {
                due = due.advanced(by: .nanoseconds(scheduler.random(2 * jitter + 1) - jitter))
                if due < now { due = now }
            }
            nextToken += 1
            slot.baseDue = base
            slot.dueToken = nextToken
            slots[key] = slot
            timeline.insert(Event(at: due, key: key, kind: .due, token: nextToken))
        }

        mutating func collectDue(now: C.Instant) {
            while let event = timeline.min, event.at <= now {
                _ = timeline.popMin()
                guard var slot = slots[event.key] else { continue }
                switch event.kind {
                case .deadline:
                    continue  // handled by expireRuns
                case .due:
                    guard slot.dueToken == event.token else { continue }
                    let nextBase = slot.baseDue.advanced(by: slot.job.check.interval)
                    if slot.running != nil || slot.queued {
                        scheduler.statistics.withLock { $0.skippedOverlaps += 1 }
                    } else {
                        slot.queued = true
                        slots[event.key] = slot
                        ready.append(event.key)
                    }
                    schedule(event.key, baseDue: nextBase, now: now)
                }
            }
        }

        mutating func expireRuns(now: C.Instant) {
            for (key, slot) in slots {
                guard let running = slot.running, running.deadline <= now else { continue }
                running.task?.cancel()
                slots[key]?.running = nil
                release(slot.job)
                scheduler.statistics.withLock { $0.timedOut += 1 }
                var observation = Observation.unknown(
                    "\(slot.job.check.probe) did not answer within \(HealthDuration.format(slot.job.check.timeout)); "
                        + "run abandoned")
                observation.duration = running.started.duration(to: now).seconds
                finish(slot.job, JobResult(job: slot.job, observation: observation, timedOut: true))
            }
        }

        mutating func startReady(now: C.Instant) {
            guard !ready.isEmpty else { return }
            var waiting: [String] = []
            var index = 0
            while index < ready.count {
                let key = ready[index]
                index += 1
                guard var slot = slots[key] else { continue }
                if running >= scheduler.limits.global {
                    waiting.append(key)
                    continue
                }
                let kind = slot.job.check.probe
                if let cap = scheduler.limits.perKind[kind], runningByKind[kind, default: 0] >= cap {
                    waiting.append(key)
                    continue
                }
                slot.queued = false
                slots[key] = slot
                start(key, slot: slot, now: now)
            }
            ready = waiting
        }

        mutating func start(_ key: String, slot: Slot, now: C.Instant) {
            let job = slot.job
            let lag = slot.baseDue < now ? slot.baseDue.duration(to: now).seconds : 0
            scheduler.statistics.withLock {
                $0.started += 1
                if !oneShot { $0.maxStartLag = max($0.maxStartLag, lag) }
            }
            if let error = job.parameterError {
                finish(job, JobResult(job: job, observation: .unknown(error)))
                return
            }
            guard let probe = scheduler.probes[job.check.probe] else {
                finish(job, JobResult(job: job, observation: .unknown("probe kind '\(job.check.probe)' is not registered")))
                return
            }
            nextRun += 1
            let run = nextRun
            let request = ProbeRequest(
                checkName: job.check.name, target: job.target, node: node, parameters: job.parameters,
                timeout: job.check.timeout, logger: scheduler.logger)
            let inbox = scheduler.inbox
            let clock = scheduler.clock
            let started = now
            running += 1
            runningByKind[job.check.probe, default: 0] += 1
            let deadline = now.advanced(by: job.check.timeout)
            slots[key]?.running = Running(run: run, task: nil, deadline: deadline, started: started)
            timeline.insert(Event(at: deadline, key: key, kind: .deadline, token: run))
            let task = Task {
                let observation = await probe.observe(request)
                inbox.post(.completed(key: key, run: run, observation: observation, elapsed: started.duration(to: clock.now)))
            }
            slots[key]?.running?.task = task
        }

        mutating func release(_ job: Job) {
            running -= 1
            runningByKind[job.check.probe, default: 1] -= 1
        }

        mutating func finish(_ job: Job, _ result: JobResult) {
            scheduler.statistics.withLock { $0.completed += 1 }
            sink.record(result)
            if oneShot, slots[job.key]?.ranOnce == false {
                slots[job.key]?.ranOnce = true
                remainingOnce -= 1
            }
        }

        func publishStatistics() {
            let jobs = slots.count
            let running = running
            scheduler.statistics.withLock {
                $0.jobs = jobs
                $0.running = running
            }
        }

        /// Bounds what a probe hands back: a message of at most 1,000 characters, finite values, at most 64 of them.
        static func sanitized(_ observation: Observation) -> Observation {
            var observation = observation
            if observation.message.count > 1000 { observation.message = String(observation.message.prefix(1000)) + "…" }
            if observation.values.count > 64 || observation.values.values.contains(where: { !$0.isFinite }) {
                observation.values = Dictionary(
                    uniqueKeysWithValues: observation.values.filter { $0.value.isFinite }.sorted { $0.key < $1.key }
                        .prefix(64).map { ($0.key, $0.value) })
            }
            return observation
        }
    }
}

import Foundation
import HealthCore
import HealthEngine
import HealthTestKit
import Logging
import Synchronization
import Testing

final class RecordingSink: ResultSink, Sendable {
    private let storage = Mutex<[JobResult]>([])
    func record(_ result: JobResult) { storage.withLock { $0.append(result) } }
    var results: [JobResult] { storage.withLock { $0 } }
    func results(for target: String) -> [JobResult] { results.filter { $0.job.target.id == target } }
}

/// Keeps each batch the scheduler hands over, as handed.
final class BatchRecordingSink: ResultSink, Sendable {
    private let storage = Mutex<[[JobResult]]>([])
    func record(_ result: JobResult) { storage.withLock { $0.append([result]) } }
    func record(batch: [JobResult]) { storage.withLock { $0.append(batch) } }
    var batches: [[JobResult]] { storage.withLock { $0 } }
}

func makeInstances(_ count: Int) -> [InstanceInfo] {
    (0..<count).map { InstanceInfo(id: String(format: "i-%08x", $0), state: .running) }
}

func makePlan(
    instances: [InstanceInfo], interval: Duration = .seconds(60), timeout: Duration = .seconds(5),
    splay: Duration? = nil, jitter: Duration = .zero, name: String = "scripted", probe: String = "test.scripted"
) -> Plan {
    let check = CheckDefinition(
        name: name, category: .instance, probe: probe, target: .instance, interval: interval, timeout: timeout,
        splay: splay, jitter: jitter)
    let registry = try! ProbeRegistry([ScriptedProbe.self])
    return Plan.build(
        checks: [check], registry: registry, node: NodeInfo(name: "node-a"), instances: instances,
        runtimeDirectory: "/run/hive")
}

struct SchedulerHarness {
    let clock = ManualClock()
    let probe = ScriptedProbe()
    let sink = RecordingSink()
    let scheduler: Scheduler<ManualClock>
    let task: Task<Void, Never>

    init(limits: ConcurrencyLimits = ConcurrencyLimits(), probes: [String: any Probe]? = nil) {
        let scheduler = Scheduler(
            clock: clock, probes: probes ?? ["test.scripted": probe], limits: limits, sink: sink,
            logger: Logger(label: "test"), random: { bound in bound / 2 + 1 })
        self.scheduler = scheduler
        self.task = Task { await scheduler.run() }
    }

    /// Advances the manual clock once the scheduler is asleep, so each step is seen.
    func advance(by duration: Duration) async {
        _ = await eventually { clock.sleeperCount > 0 }
        clock.advance(by: duration)
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

@Suite("Scheduler")
struct SchedulerTests {
    @Test("a job first runs at its splay offset and then once per interval")
    func cadence() async throws {
        let harness = SchedulerHarness()
        let plan = makePlan(instances: makeInstances(1), interval: .seconds(60))
        let offset = try #require(plan.jobs.first?.splayOffset)
        harness.scheduler.replace(plan)
        #expect(await eventually { harness.scheduler.stats.jobs == 1 })
        #expect(harness.probe.runs() == 0)
        await harness.advance(by: offset)
        #expect(await eventually { harness.sink.results.count == 1 })
        for expected in 2...4 {
            await harness.advance(by: .seconds(59))
            try await Task.sleep(for: .milliseconds(20))
            #expect(harness.sink.results.count == expected - 1, "must not run before the interval is over")
            await harness.advance(by: .seconds(1))
            #expect(await eventually { harness.sink.results.count == expected })
        }
        await harness.stop()
    }

    @Test("splay is deterministic, inside its window and spreads targets")
    func splay() {
        let a = Job.splay(check: "qmp.status", target: "i-1", window: .seconds(60))
        let b = Job.splay(check: "qmp.status", target: "i-1", window: .seconds(60))
        #expect(a == b)
        var offsets = Set<Duration>()
        for index in 0..<200 {
            let offset = Job.splay(check: "qmp.status", target: "i-\(index)", window: .seconds(60))
            #expect(offset >= .zero && offset < .seconds(60))
            offsets.insert(offset)
        }
        #expect(offsets.count > 190)
        #expect(Job.splay(check: "x", target: "y", window: .zero) == .zero)
    }

    @Test("a stall does not cause a catch-up storm: each job runs once, not once per missed interval")
    func noCatchUp() async throws {
        let harness = SchedulerHarness()
        harness.scheduler.replace(makePlan(instances: makeInstances(5), interval: .seconds(10), splay: .seconds(1)))
        await harness.advance(by: .seconds(1))
        #expect(await eventually { harness.sink.results.count == 5 })
        await harness.advance(by: .seconds(100))
        #expect(await eventually { harness.sink.results.count == 10 })
        try await Task.sleep(for: .milliseconds(50))
        #expect(harness.sink.results.count == 10)
        await harness.advance(by: .seconds(10))
        #expect(await eventually { harness.sink.results.count == 15 })
        await harness.stop()
    }

    @Test("a job never overlaps itself: a run still going when the next is due is skipped")
    func noOverlap() async throws {
        let harness = SchedulerHarness()
        harness.probe.set(.delay(.seconds(30), .passed("slow")))
        harness.scheduler.replace(
            makePlan(instances: makeInstances(1), interval: .seconds(1), timeout: .seconds(3600), splay: .zero))
        #expect(await eventually { harness.probe.currentRuns == 1 })
        for _ in 0..<5 { await harness.advance(by: .seconds(1)) }
        #expect(await eventually { harness.scheduler.stats.skippedOverlaps >= 4 })
        #expect(harness.probe.runs() == 1)
        #expect(harness.probe.maxConcurrentRuns == 1)
        await harness.stop()
    }

    @Test("a probe that ignores cancellation is abandoned at its timeout, reported unknown, and frees its slot")
    func timeoutAbandons() async throws {
        let harness = SchedulerHarness(limits: ConcurrencyLimits(global: 1))
        harness.probe.set(.hangIgnoringCancellation(limit: .seconds(2)), for: "i-00000000")
        harness.scheduler.replace(
            makePlan(instances: makeInstances(2), interval: .seconds(60), timeout: .seconds(5), splay: .zero))
        #expect(await eventually { harness.probe.runs(for: "i-00000000") == 1 })
        await harness.advance(by: .seconds(5))
        #expect(await eventually { harness.sink.results(for: "i-00000000").count == 1 })
        let result = try #require(harness.sink.results(for: "i-00000000").first)
        #expect(result.timedOut)
        #expect(result.observation.outcome == .unknown)
        #expect(result.observation.message.contains("did not answer within 5s"))
        // The only slot was held by the hung probe; the other job gets it as soon as the hung run is abandoned.
        #expect(await eventually { harness.sink.results(for: "i-00000001").count == 1 })
        #expect(harness.scheduler.stats.timedOut == 1)
        // The abandoned run's late answer is ignored.
        #expect(await eventually { harness.scheduler.stats.lateResults == 1 })
        #expect(harness.sink.results(for: "i-00000000").count == 1)
        await harness.stop()
    }

    @Test("the global and per-kind concurrency caps hold")
    func caps() async throws {
        let other = ScriptedProbe()
        let harness = SchedulerHarness(
            limits: ConcurrencyLimits(global: 4, perKind: ["test.other": 1]))
        let scripted = harness.probe
        scripted.set(.delay(.milliseconds(20), .passed("ok")))
        other.set(.delay(.milliseconds(20), .passed("ok")))
        let scheduler = Scheduler(
            clock: harness.clock, probes: ["test.scripted": scripted, "test.other": other],
            limits: ConcurrencyLimits(global: 4, perKind: ["test.other": 1]), sink: harness.sink,
            logger: Logger(label: "test"))
        await harness.stop()
        let instances = makeInstances(30)
        var plan = makePlan(instances: instances, splay: .zero)
        let otherPlan = makePlan(instances: instances, splay: .zero, name: "other", probe: "test.scripted")
        let otherCheck = CheckDefinition(
            name: "other", category: .instance, probe: "test.other", target: .instance, splay: .zero)
        plan.jobs += otherPlan.jobs.map { Job(check: otherCheck, target: $0.target, parameters: $0.parameters) }
        let results = await scheduler.runOnce(plan)
        #expect(results.count == 60)
        #expect(scripted.maxConcurrentRuns <= 4)
        #expect(scripted.maxConcurrentRuns >= 2)
        #expect(other.maxConcurrentRuns == 1)
    }

    @Test("runOnce runs every job exactly once and returns results in plan order")
    func runOnce() async {
        let probe = ScriptedProbe()
        probe.set(.answer(.failed("down")), for: "i-00000002")
        let sink = RecordingSink()
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": probe], sink: sink, logger: Logger(label: "test"))
        let plan = makePlan(instances: makeInstances(10))
        let results = await scheduler.runOnce(plan)
        #expect(results.map(\.job.key) == plan.jobs.map(\.key))
        #expect(probe.runs() == 10)
        #expect(results.filter { $0.observation.outcome == .failed }.map(\.job.target.id) == ["i-00000002"])
        #expect(sink.results.isEmpty, "one-shot results go to the caller, not the daemon's sink")
    }

    @Test("runOnce gives up on a hung probe at its timeout")
    func runOnceTimeout() async {
        let probe = ScriptedProbe()
        // Hangs far longer than the timeout, so even a heavily loaded machine sees the timeout first.
        probe.set(.hangIgnoringCancellation(limit: .seconds(30)))
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": probe], sink: RecordingSink(),
            logger: Logger(label: "test"))
        let results = await scheduler.runOnce(makePlan(instances: makeInstances(1), timeout: .milliseconds(100)))
        #expect(results.count == 1)
        #expect(results.first?.timedOut == true)
    }

    @Test("trigger runs matching jobs now; replacing the plan adds and removes jobs")
    func triggerAndReplace() async throws {
        let harness = SchedulerHarness()
        let instances = makeInstances(3)
        harness.scheduler.replace(makePlan(instances: instances, interval: .seconds(60), splay: .seconds(30)))
        #expect(await eventually { harness.scheduler.stats.jobs == 3 })
        harness.scheduler.trigger(reason: "test") { $0.target.id == "i-00000001" }
        #expect(await eventually { harness.sink.results(for: "i-00000001").count == 1 })
        #expect(harness.sink.results.count == 1)
        harness.scheduler.replace(makePlan(instances: Array(instances.prefix(1)), splay: .seconds(30)))
        #expect(await eventually { harness.scheduler.stats.jobs == 1 })
        await harness.advance(by: .seconds(61))
        #expect(await eventually { harness.sink.results(for: "i-00000000").count == 1 })
        try await Task.sleep(for: .milliseconds(30))
        #expect(harness.sink.results(for: "i-00000002").isEmpty)
        await harness.stop()
    }

    @Test("a job removed while it runs frees its cap at once; the job given its slot runs; the old answer is dropped")
    func removedWhileRunning() async throws {
        let harness = SchedulerHarness(limits: ConcurrencyLimits(global: 1))
        harness.probe.set(.hangIgnoringCancellation(limit: .milliseconds(500)), for: "i-00000000")
        let instances = makeInstances(2)
        harness.scheduler.replace(
            makePlan(instances: [instances[0]], interval: .seconds(60), timeout: .seconds(3600), splay: .zero))
        #expect(await eventually { harness.probe.runs(for: "i-00000000") == 1 })
        #expect(await eventually { harness.scheduler.stats.running == 1 })
        // The new plan's only job takes the freed slot while the old run is still going.
        harness.scheduler.replace(
            makePlan(instances: [instances[1]], interval: .seconds(60), timeout: .seconds(3600), splay: .zero))
        #expect(await eventually { harness.sink.results(for: "i-00000001").count == 1 })
        #expect(await eventually { harness.scheduler.stats.lateResults == 1 })
        #expect(harness.sink.results(for: "i-00000000").isEmpty)
        #expect(await eventually { harness.scheduler.stats.jobs == 1 && harness.scheduler.stats.running == 0 })
        await harness.stop()
    }

    @Test("jitter moves runs inside ±jitter around the cadence")
    func jitter() async throws {
        let harness = SchedulerHarness()
        harness.scheduler.replace(
            makePlan(instances: makeInstances(1), interval: .seconds(60), splay: .zero, jitter: .seconds(10)))
        // random returns bound/2 + 1 => every run is 1ns past its cadence point.
        await harness.advance(by: .nanoseconds(1))
        #expect(await eventually { harness.sink.results.count == 1 })
        await harness.advance(by: .seconds(60) - .nanoseconds(1))
        try await Task.sleep(for: .milliseconds(30))
        #expect(harness.sink.results.count == 1)
        await harness.advance(by: .milliseconds(1))
        #expect(await eventually { harness.sink.results.count == 2 })
        await harness.stop()
    }

    @Test("a job whose parameters cannot be filled reports unknown with the reason, without calling the probe")
    func parameterError() async {
        let probe = ScriptedProbe()
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": probe], sink: RecordingSink(),
            logger: Logger(label: "test"))
        let check = CheckDefinition(
            name: "bad", category: .instance, probe: "test.scripted", target: .instance,
            params: ["label": .string("{{instance.eni_id}}")])
        let plan = Plan.build(
            checks: [check], registry: try! ProbeRegistry([ScriptedProbe.self]), node: NodeInfo(name: "n"),
            instances: makeInstances(1), runtimeDirectory: "/tmp")
        let results = await scheduler.runOnce(plan)
        #expect(results.first?.observation.outcome == .unknown)
        #expect(results.first?.observation.message.contains("eni_id") == true)
        #expect(probe.runs() == 0)
    }
}

@Suite("Scheduler against misbehaving probes")
struct MisbehavingProbeTests {
    @Test("garbage from a probe is bounded: a huge message is cut, non-finite values dropped, at most 64 values")
    func garbageIsBounded() async throws {
        let probe = ScriptedProbe()
        var values: [String: Double] = ["nan": .nan, "inf": .infinity]
        for index in 0..<1000 { values["v\(index)"] = Double(index) }
        probe.set(.answer(Observation(outcome: .failed, message: String(repeating: "x", count: 1 << 20), values: values)))
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": probe], sink: RecordingSink(),
            logger: Logger(label: "test"))
        let results = await scheduler.runOnce(makePlan(instances: makeInstances(1)))
        let observation = try #require(results.first?.observation)
        #expect(observation.outcome == .failed)
        #expect(observation.message.count <= 1001)
        #expect(observation.values.count == 64)
        #expect(observation.values.values.allSatisfy { $0.isFinite })
    }

    @Test("a probe kind missing from the build is unknown with its name, and the other jobs still run")
    func missingProbe() async throws {
        let probe = ScriptedProbe()
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": probe], sink: RecordingSink(),
            logger: Logger(label: "test"))
        var plan = makePlan(instances: makeInstances(2))
        let ghost = CheckDefinition(name: "ghost", category: .instance, probe: "no.such.kind", target: .instance)
        plan.jobs.append(Job(check: ghost, target: plan.jobs[0].target, parameters: ProbeParameters()))
        let results = await scheduler.runOnce(plan)
        #expect(results.count == 3)
        let unknown = try #require(results.first { $0.job.check.name == "ghost" })
        #expect(unknown.observation.outcome == .unknown)
        #expect(unknown.observation.message.contains("no.such.kind"))
        #expect(results.filter { $0.observation.outcome == .passed }.count == 2)
    }

    @Test("with a batch window, every job still runs again and again, and each finished run is taken")
    func batchWindowKeepsCadence() async throws {
        let probe = ScriptedProbe()
        let sink = RecordingSink()
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": probe], sink: sink, logger: Logger(label: "test"),
            batchWindow: .milliseconds(20))
        let plan = makePlan(instances: makeInstances(40), interval: .milliseconds(300), splay: .milliseconds(300))
        scheduler.replace(plan)
        let task = Task { await scheduler.run() }
        let ranThrice = await eventually(timeout: .seconds(30)) {
            plan.jobs.allSatisfy { sink.results(for: $0.target.id).count >= 3 }
        }
        task.cancel()
        await task.value
        #expect(ranThrice, "every job ran at least three times")
        #expect(sink.results.allSatisfy { $0.observation.outcome == .passed && !$0.timedOut })
        #expect(probe.maxConcurrentRuns >= 1)
        #expect(scheduler.stats.completed == sink.results.count, "every finished run was taken")
    }

    @Test("with a batch window, a one-shot run still returns every result (taken at the window, not left waiting)")
    func batchWindowOneShot() async throws {
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": ScriptedProbe()], sink: RecordingSink(),
            logger: Logger(label: "test"), batchWindow: .milliseconds(50))
        let plan = makePlan(instances: makeInstances(25), interval: .seconds(3600))
        let results = await scheduler.runOnce(plan)
        #expect(results.map(\.job.key) == plan.jobs.map(\.key))
        #expect(results.allSatisfy { $0.observation.outcome == .passed })
    }
}

/// Answers inline for the targets in `inline` (a huge message, to see it bounded too) and in a task for the others,
/// counting both.
final class InlineProbe: Probe, Sendable {
    static let descriptor = ScriptedProbe.descriptor
    let inline: Set<String>
    private let calls = Mutex((now: [String: Int](), tasks: [String: Int]()))

    init(environment: ProbeEnvironment) { inline = [] }
    init(inline: Set<String>) { self.inline = inline }

    func observeNow(_ request: ProbeRequest) -> Observation? {
        calls.withLock { $0.now[request.target.id, default: 0] += 1 }
        guard inline.contains(request.target.id) else { return nil }
        return .passed("inline " + String(repeating: "x", count: 5000))
    }

    func observe(_ request: ProbeRequest) async -> Observation {
        calls.withLock { $0.tasks[request.target.id, default: 0] += 1 }
        return .failed("in a task")
    }

    var counts: (now: [String: Int], tasks: [String: Int]) { calls.withLock { $0 } }
}

@Suite("Scheduler: probes answering inline")
struct InlineProbeTests {
    @Test("observeNow answers without a task; nil falls back to observe; inline answers are bounded too")
    func inlineAndTask() async throws {
        let instances = makeInstances(4)
        let inline = Set(instances.prefix(2).map(\.id))
        let probe = InlineProbe(inline: inline)
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: ["test.scripted": probe], sink: RecordingSink(),
            logger: Logger(label: "test"))
        let results = await scheduler.runOnce(makePlan(instances: instances))
        #expect(results.count == 4)
        for result in results {
            let id = result.job.target.id
            if inline.contains(id) {
                #expect(result.observation.outcome == .passed)
                #expect(result.observation.message.hasPrefix("inline "))
                #expect(result.observation.message.count <= 1001)
            } else {
                #expect(result.observation.outcome == .failed)
                #expect(result.observation.message == "in a task")
            }
        }
        let counts = probe.counts
        #expect(counts.now == Dictionary(uniqueKeysWithValues: instances.map { ($0.id, 1) }))
        #expect(counts.tasks == Dictionary(uniqueKeysWithValues: instances.suffix(2).map { ($0.id, 1) }))
        #expect(scheduler.stats.running == 0)
    }

    @Test("a turn's inline answers reach the sink as one batch, in plan order, each with its index in the plan")
    func oneBatchPerTurn() async throws {
        let instances = makeInstances(50)
        let probe = InlineProbe(inline: Set(instances.map(\.id)))
        let sink = BatchRecordingSink()
        let clock = ManualClock()
        let scheduler = Scheduler(
            clock: clock, probes: ["test.scripted": probe], sink: sink, logger: Logger(label: "test"))
        let task = Task { await scheduler.run() }
        // No splay: every job is due at once, so the turn that takes the plan runs them all.
        let plan = makePlan(instances: instances, splay: .zero)
        scheduler.replace(plan)
        #expect(await eventually { sink.batches.count == 1 })
        let batch = try #require(sink.batches.first)
        #expect(batch.count == 50)
        #expect(batch.map(\.job.target.id) == instances.map(\.id))
        for result in batch {
            #expect(result.planIndex >= 0 && result.planIndex < plan.jobs.count)
            #expect(plan.jobs[result.planIndex] === result.job)
        }
        // The next interval's runs are the next turn's batch.
        _ = await eventually { clock.sleeperCount > 0 }
        clock.advance(by: .seconds(60))
        #expect(await eventually { sink.batches.count == 2 })
        #expect(sink.batches.last?.count == 50)
        #expect(scheduler.stats.completed == 100)
        task.cancel()
        await task.value
    }

    @Test("an inline job keeps its cadence: one answer per interval, no task ever")
    func inlineCadence() async throws {
        let instances = makeInstances(1)
        let probe = InlineProbe(inline: [instances[0].id])
        let harness = SchedulerHarness(probes: ["test.scripted": probe])
        let plan = makePlan(instances: instances, interval: .seconds(60))
        let offset = try #require(plan.jobs.first?.splayOffset)
        harness.scheduler.replace(plan)
        #expect(await eventually { harness.scheduler.stats.jobs == 1 })
        await harness.advance(by: offset)
        #expect(await eventually { harness.sink.results.count == 1 })
        for expected in 2...3 {
            await harness.advance(by: .seconds(60))
            #expect(await eventually { harness.sink.results.count == expected })
        }
        #expect(probe.counts.now[instances[0].id] == 3)
        #expect(probe.counts.tasks.isEmpty)
        await harness.stop()
    }
}

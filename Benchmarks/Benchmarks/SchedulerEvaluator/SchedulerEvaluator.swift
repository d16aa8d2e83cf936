import Benchmark
import Foundation
import HealthCore
import HealthEngine
import HealthProbes
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The plan of the issue: 10,000 running instances x 12 instance checks of the `noop` probe, 120,000 jobs.
/// `BENCH_INSTANCES` changes the number of instances, to see how the costs grow with the plan.
enum Fixture {
    static let instanceCount: Int = {
        guard let text = ProcessInfo.processInfo.environment["BENCH_INSTANCES"] else { return 10_000 }
        guard let count = Int(text), (1...1_000_000).contains(count) else {
            fatalError("BENCH_INSTANCES must be a number from 1 to 1000000, not '\(text)'")
        }
        return count
    }()
    static let checkCount = 12
    static let jobCount = instanceCount * checkCount

    static let node = NodeInfo(name: "bench-node", region: "ap-southeast-2", availabilityZone: "ap-southeast-2a")
    static let registry: ProbeRegistry = {
        do { return try ProbeRegistry([NoopProbe.self]) } catch { fatalError("\(error)") }
    }()
    // Benchmarks measure hive-health, not log formatting.
    static let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    /// For benchmark names: "10k instances x 12 checks (120,000 job runs)".
    static let size: String = {
        let instances = instanceCount % 1000 == 0 ? "\(instanceCount / 1000)k" : "\(instanceCount)"
        return "\(instances) instances x \(checkCount) checks (\(jobCount) job runs)"
    }()

    static let checks: [CheckDefinition] = (1...checkCount).map { index in
        CheckDefinition(
            name: "noop-\(index < 10 ? "0" : "")\(index)", category: .instance, probe: NoopProbe.descriptor.kind,
            target: .instance, interval: .seconds(60))
    }

    static let instances: [InstanceInfo] = (0..<instanceCount).map { index in
        let hex = String(index, radix: 16)
        let id = "i-" + String(repeating: "0", count: 17 - hex.count) + hex
        return InstanceInfo(id: id, state: .running, node: node.name, availabilityZone: node.availabilityZone)
    }

    static let plan = Plan.build(
        checks: checks, registry: registry, node: node, instances: instances, runtimeDirectory: "/tmp")

    /// One passed result per job, as the scheduler hands them to its sink.
    static let results: [JobResult] = plan.jobs.map { JobResult(job: $0, observation: .passed("no-op")) }

    /// A real evaluator for the plan; `warm` records one result per job so later records are steady state.
    static func state(warm: Bool) -> Evaluator {
        let state = Evaluator(node: node)
        state.apply(plan: plan)
        if warm { for result in results { state.record(result) } }
        return state
    }

    static func makeScheduler<C: Clock>(clock: C, sink: any ResultSink) -> Scheduler<C> where C.Duration == Duration {
        Scheduler(
            clock: clock, probes: registry.instantiate(environment: ProbeEnvironment(logger: logger)),
            limits: ConcurrencyLimits(), sink: sink, logger: logger)
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("benchmark fixture broken: \(message())") }
    }
}

/// CPU time of the whole process (every thread), in nanoseconds.
func processCPUNanoseconds() -> Int {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Int(spec.tv_sec) * 1_000_000_000 + Int(spec.tv_nsec)
}

/// Forwards every result to the evaluator and says when `expected` results have arrived.
final class CountingSink: ResultSink, Sendable {
    private struct Progress {
        var count = 0
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Evaluator
    private let expected: Int
    private let progress = Mutex(Progress())

    init(state: Evaluator, expected: Int) {
        self.state = state
        self.expected = expected
    }

    func record(_ result: JobResult) {
        state.record(result)
        let waiter = progress.withLock { progress -> CheckedContinuation<Void, Never>? in
            progress.count += 1
            guard progress.count >= expected else { return nil }
            defer { progress.waiter = nil }
            return progress.waiter
        }
        waiter?.resume()
    }

    var count: Int { progress.withLock { $0.count } }

    /// Returns once `expected` results have been recorded.
    func waitForAll() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = progress.withLock { progress -> Bool in
                if progress.count >= expected { return true }
                progress.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// CPU nanoseconds per job run, measured around the whole iteration (all threads of the process).
let cpuPerJobRun = BenchmarkMetric.custom("cpu ns per job run", polarity: .prefersSmaller, useScalingFactor: false)

let metrics: [BenchmarkMetric] = [.cpuTotal, .wallClock, .mallocCountTotal, .peakMemoryResident]

let benchmarks: @Sendable () -> Void = {
    Fixture.check(Fixture.plan.jobs.count == Fixture.jobCount, "plan has \(Fixture.plan.jobs.count) jobs")

    // The cost the issue asks for: every job run once through the scheduler, each result recorded by the evaluator.
    Benchmark(
        "Scheduler.runOnce + Evaluator.record, \(Fixture.size)",
        configuration: .init(
            metrics: metrics + [cpuPerJobRun], warmupIterations: 0, maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        // Setup runs before the explicit startMeasurement(), which resets the counters.
        let state = Fixture.state(warm: true)
        let scheduler = Fixture.makeScheduler(clock: ContinuousClock(), sink: state)
        let cpuBefore = processCPUNanoseconds()
        benchmark.startMeasurement()
        // runOnce hands its results back rather than to the sink; record them as the daemon's sink does.
        let results = await scheduler.runOnce(Fixture.plan)
        for result in results { state.record(result) }
        benchmark.stopMeasurement()
        let cpu = processCPUNanoseconds() - cpuBefore
        Fixture.check(results.count == Fixture.jobCount, "runOnce returned \(results.count) results")
        benchmark.measurement(cpuPerJobRun, cpu / Fixture.jobCount)
        blackHole(results)
    }

    // The daemon's path: the scheduler's run loop (timeline, splay, due times) with the evaluator as its sink.
    Benchmark(
        "Scheduler.run loop with Evaluator sink, \(Fixture.size)",
        configuration: .init(
            metrics: metrics + [cpuPerJobRun], warmupIterations: 0, maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        let state = Fixture.state(warm: true)
        let sink = CountingSink(state: state, expected: Fixture.jobCount)
        // No splay: every job is due at once, so each runs once in the iteration (interval 60 s: no repeats).
        let checks = Fixture.checks.map { check -> CheckDefinition in
            var check = check
            check.splay = .zero
            return check
        }
        let plan = Plan.build(
            checks: checks, registry: Fixture.registry, node: Fixture.node, instances: Fixture.instances,
            runtimeDirectory: "/tmp")
        let scheduler = Fixture.makeScheduler(clock: ContinuousClock(), sink: sink)
        let cpuBefore = processCPUNanoseconds()
        benchmark.startMeasurement()
        scheduler.replace(plan)
        let loop = Task { await scheduler.run() }
        await sink.waitForAll()
        benchmark.stopMeasurement()
        let cpu = processCPUNanoseconds() - cpuBefore
        loop.cancel()
        await loop.value
        Fixture.check(sink.count == Fixture.jobCount, "the loop recorded \(sink.count) results")
        benchmark.measurement(cpuPerJobRun, cpu / Fixture.jobCount)
    }

    // The evaluator alone: one steady-state record per job.
    Benchmark(
        "Evaluator.record, steady state, \(Fixture.size)",
        configuration: .init(
            metrics: metrics + [cpuPerJobRun], warmupIterations: 1, maxDuration: .seconds(20), maxIterations: 20)
    ) { benchmark in
        let state = Fixture.state(warm: true)
        let cpuBefore = processCPUNanoseconds()
        benchmark.startMeasurement()
        for result in Fixture.results { state.record(result) }
        benchmark.stopMeasurement()
        benchmark.measurement(cpuPerJobRun, (processCPUNanoseconds() - cpuBefore) / Fixture.jobCount)
    }

    // The full view (CLI `status`, persistence every 5 s, NATS snapshots) at that size.
    Benchmark(
        "Evaluator.report, \(Fixture.size)",
        configuration: .init(metrics: metrics, warmupIterations: 1, maxDuration: .seconds(20), maxIterations: 20)
    ) { benchmark in
        let state = Fixture.state(warm: true)
        benchmark.startMeasurement()
        let report = state.report()
        benchmark.stopMeasurement()
        Fixture.check(report.instances.count == Fixture.instanceCount, "report has \(report.instances.count)")
        blackHole(report)
    }
}

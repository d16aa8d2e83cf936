import Foundation
import HealthCore
import HealthEngine
import HealthTestKit
import Synchronization
import Testing

/// A wall clock the test moves by hand.
final class TestWallClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var function: @Sendable () -> Date { { self.now } }
}

@Suite("Evaluator")
struct EvaluatorTests {
    let node = NodeInfo(name: "node-a", availabilityZone: "ap-southeast-2a")

    func plan(instances: [InstanceInfo]) -> Plan {
        let registry = try! ProbeRegistry([ScriptedProbe.self])
        let checks = [
            CheckDefinition(name: "host", category: .system, probe: "test.scripted", target: .node),
            CheckDefinition(name: "guest", category: .instance, probe: "test.scripted", target: .instance),
            CheckDefinition(name: "disk", category: .ebs, probe: "test.scripted", target: .volume),
        ]
        return Plan.build(
            checks: checks, registry: registry, node: node, instances: instances, runtimeDirectory: "/run/hive")
    }

    func job(_ plan: Plan, _ key: String) -> Job { plan.jobs.first { $0.key == key }! }

    let instance = InstanceInfo(
        id: "i-0a", state: .running, availabilityZone: "ap-southeast-2a",
        launchTime: Date(timeIntervalSince1970: 1_800_000_000 - 3600), volumes: [VolumeInfo(id: "vol-1")])

    @Test("a batch is recorded as its results one by one; a result finds its job with or without its plan index")
    func batchAndPlanIndex() throws {
        let clock = TestWallClock()
        let instances = (0..<3).map { n in
            InstanceInfo(
                id: "i-0\(n)", state: .running, launchTime: Date(timeIntervalSince1970: 1_800_000_000 - 3600),
                volumes: [VolumeInfo(id: "vol-\(n)")])
        }
        let plan = plan(instances: instances)
        let single = Evaluator(node: node, wallClock: clock.function)
        let batched = Evaluator(node: node, wallClock: clock.function)
        single.apply(plan: plan)
        batched.apply(plan: plan)
        for round in 0..<3 {
            clock.advance(60)
            // Plan indices as the scheduler gives them, one wrong (it is searched for), one missing.
            let results = plan.jobs.enumerated().map { index, job in
                JobResult(
                    job: job, observation: job.key.hasPrefix("guest") ? .failed("down \(round)") : .passed("fine"),
                    planIndex: index == 1 ? 0 : index == 2 ? -1 : index)
            }
            for result in results { single.record(result) }
            batched.record(batch: results)
        }
        // A job of no plan here is dropped, whatever index it claims.
        let stranger = Job(
            check: CheckDefinition(name: "guest", category: .instance, probe: "test.scripted", target: .instance),
            target: .instance(instances[0]), parameters: ProbeParameters())
        batched.record(batch: [JobResult(job: stranger, observation: .passed("not mine"), planIndex: 3)])
        let expected = single.report()
        let report = batched.report()
        #expect(report.instances.map(\.instance.status) == [.impaired, .impaired, .impaired])
        #expect(report.instances == expected.instances)
        #expect(report.node == expected.node)
        for job in plan.jobs {
            #expect(batched.record(forKey: job.key) == single.record(forKey: job.key), "\(job.key)")
            #expect(batched.record(forKey: job.key)?.state.runs == 3, "\(job.key)")
        }
        #expect(batched.drainEvents().map(\.to) == single.drainEvents().map(\.to))
    }

    @Test("failures turn the category impaired after the threshold, with one event per transition")
    func impairment() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, wallClock: clock.function)
        let plan = plan(instances: [instance])
        state.apply(plan: plan)
        var report = state.report()
        let first = try #require(report.instances.first)
        #expect(first.instance.status == .insufficientData, "launched an hour ago: past the grace period")
        for _ in 0..<2 {
            clock.advance(60)
            state.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("agent silent")))
        }
        state.record(JobResult(job: job(plan, "host/node-a"), observation: .passed("fine")))
        state.record(JobResult(job: job(plan, "disk/vol-1"), observation: .passed("reads")))
        report = state.report()
        let health = try #require(report.instances.first)
        #expect(health.instance.status == .impaired)
        #expect(health.instance.impairedSince == Date(timeIntervalSince1970: 1_800_000_060))
        #expect(health.system.status == .ok)
        #expect(health.ebs.status == .ok)
        #expect(report.node.system.status == .ok)
        let events = state.drainEvents()
        #expect(events.map(\.to) == [.failed, .passed, .passed])
        #expect(events.first?.instanceID == "i-0a")
        #expect(events.first?.from == .insufficientData)
        #expect(state.drainEvents().isEmpty)
    }

    @Test("a node check failing impairs the system status of every instance")
    func nodeChecksApplyToInstances() throws {
        let clock = TestWallClock()
        let other = InstanceInfo(id: "i-0b", state: .running)
        let state = Evaluator(
            node: node, settings: .init(launchGrace: .zero), wallClock: clock.function)
        let plan = plan(instances: [instance, other])
        state.apply(plan: plan)
        for _ in 0..<2 { state.record(JobResult(job: job(plan, "host/node-a"), observation: .failed("hot"))) }
        let report = state.report()
        #expect(report.node.system.status == .impaired)
        #expect(report.instances.map(\.system.status) == [.impaired, .impaired])
    }

    @Test("a new instance is initializing inside its launch grace period")
    func launchGrace() throws {
        let clock = TestWallClock()
        let fresh = InstanceInfo(id: "i-0c", state: .running, launchTime: clock.now)
        let state = Evaluator(node: node, wallClock: clock.function)
        let plan = plan(instances: [fresh])
        state.apply(plan: plan)
        #expect(state.report().instances.first?.instance.status == .initializing)
        #expect(state.report().instances.first?.ebs.status == .notApplicable, "no volumes")
        clock.advance(301)
        #expect(state.report().instances.first?.instance.status == .insufficientData)
    }

    @Test("failures inside a suppression window count as unknown, not failed")
    func suppression() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, settings: .init(launchGrace: .zero), wallClock: clock.function)
        let plan = plan(instances: [instance])
        state.apply(plan: plan)
        state.suppress(instance: "i-0a", reason: "instance paused")
        for _ in 0..<3 { state.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("no answer"))) }
        let guest = try #require(state.report().instances.first?.instance)
        #expect(guest.status == .insufficientData)
        #expect(guest.checks.first?.message.contains("suppressed (instance paused)") == true)
        state.suppress(instance: "i-0a", reason: nil)
        for _ in 0..<2 { state.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("no answer"))) }
        #expect(state.report().instances.first?.instance.status == .impaired)
    }

    @Test("restored state keeps statuses, counters and ImpairedSince once the plan is applied again")
    func restore() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, settings: .init(launchGrace: .zero), wallClock: clock.function)
        let plan = plan(instances: [instance])
        state.apply(plan: plan)
        for _ in 0..<3 {
            clock.advance(60)
            state.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("down")))
        }
        let saved = state.persistedState()
        let data = try JSONEncoder().encode(saved)
        let decoded = try JSONDecoder().decode(PersistedState.self, from: data)

        clock.advance(600)
        let restarted = Evaluator(
            node: node, settings: .init(launchGrace: .seconds(300)), restored: decoded, wallClock: clock.function)
        #expect(restarted.report().instances.first?.instance.status == .impaired, "before the first plan")
        restarted.apply(plan: plan)
        let record = try #require(restarted.record(forKey: "guest/i-0a"))
        #expect(record.state.consecutiveFailed == 3)
        let guest = try #require(restarted.report().instances.first?.instance)
        #expect(guest.status == .impaired, "a restart must not turn an impaired instance ok or initializing")
        #expect(guest.impairedSince == Date(timeIntervalSince1970: 1_800_000_060))
        restarted.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("down")))
        #expect(restarted.record(forKey: "guest/i-0a")?.state.consecutiveFailed == 4)
        #expect(restarted.report().instances.first?.instance.impairedSince == Date(timeIntervalSince1970: 1_800_000_060))
    }

    /// An instance launched 10 s before `clock`'s now, still in a launch grace of 300 s, with one volume.
    func youngInstance(_ clock: TestWallClock) -> InstanceInfo {
        InstanceInfo(
            id: "i-09", state: .running, availabilityZone: "ap-southeast-2a", launchTime: clock.now.addingTimeInterval(-10),
            volumes: [VolumeInfo(id: "vol-9")])
    }

    @Test("the snapshot the daemon saves holds what report() shows and every record, before and after a plan")
    func snapshotMatchesReport() throws {
        let clock = TestWallClock()
        // Two instances in id order the plan does not keep, one still in its launch grace, one node check.
        let young = youngInstance(clock)
        let state = Evaluator(node: node, settings: .init(launchGrace: .seconds(300)), wallClock: clock.function)
        let plan = plan(instances: [instance, young])
        state.apply(plan: plan)
        for _ in 0..<2 { state.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("down"))) }
        state.record(JobResult(job: job(plan, "host/node-a"), observation: .passed("fine", values: ["load": 0.5])))
        state.record(JobResult(job: job(plan, "disk/vol-9"), observation: .failed("no reads")))
        state.catalogue = CatalogueVersion(source: .local, sha256: "abc")

        let snapshot = state.snapshot()
        let whole = snapshot.materialized()
        #expect(whole.report == state.report())
        #expect(whole.report.instances.map(\.instanceID) == ["i-09", "i-0a"])
        #expect(whole.report.instances.first?.ebs.checks.first?.status == .initializing, "in its launch grace")
        #expect(whole.jobs.count == plan.jobs.count)
        for planned in plan.jobs { #expect(whole.jobs[planned.key] == state.record(forKey: planned.key)) }

        // A result after the snapshot was taken does not reach it (its arrays are its own).
        state.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("down")))
        #expect(snapshot.materialized().jobs["guest/i-0a"]?.state.consecutiveFailed == 2)
        #expect(state.record(forKey: "guest/i-0a")?.state.consecutiveFailed == 3)

        // Restored, before the first plan: what was saved, every record of it; after a plan without one of the
        // instances, its records are kept beside the plan's.
        let saved = try JSONDecoder().decode(PersistedState.self, from: JSONEncoder().encode(state.persistedState()))
        let restarted = Evaluator(node: node, settings: .init(launchGrace: .zero), restored: saved, wallClock: clock.function)
        let before = restarted.snapshot().materialized()
        #expect(before.report == restarted.report())
        #expect(before.jobs == saved.jobs)
        restarted.apply(plan: self.plan(instances: [instance]))
        let after = restarted.snapshot().materialized()
        #expect(after.report == restarted.report())
        #expect(after.report.instances.map(\.instanceID) == ["i-0a"])
        #expect(Set(after.jobs.keys) == Set(saved.jobs.keys), "the left instance's records wait for it")
        #expect(after.jobs["guest/i-0a"]?.state.consecutiveFailed == 3)
    }

    @Test("results while a snapshot is held go beside it: the snapshot keeps its moment, the evaluator has them all")
    func resultsBesideHeldSnapshot() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, settings: .init(launchGrace: .zero), wallClock: clock.function)
        // 1,500 instances: more results while one snapshot is held than its overlay takes (1,024, an eighth of 3,001
        // jobs is less), so the table is also copied once and the held lease stops counting.
        let instances = (0..<1500).map {
            InstanceInfo(
                id: String(format: "i-%05d", $0), state: .running, availabilityZone: "ap-southeast-2a",
                launchTime: clock.now.addingTimeInterval(-3600))
        }
        let plan = plan(instances: instances)
        state.apply(plan: plan)
        let guests = plan.jobs.filter { $0.check.name == "guest" }
        state.record(JobResult(job: guests[0], observation: .failed("down")))

        var held: Evaluator.Snapshot? = state.snapshot()
        let before = try #require(held).materialized()
        state.record(JobResult(job: guests[0], observation: .failed("still down")))
        state.record(JobResult(job: guests[1], observation: .passed("up")))
        #expect(try #require(held).materialized() == before, "the held snapshot keeps its moment")
        #expect(state.record(forKey: guests[0].key)?.state.consecutiveFailed == 2)
        #expect(state.record(forKey: guests[1].key)?.state.decided == .passed)
        let second = state.snapshot().materialized()
        #expect(second.jobs[guests[0].key]?.state.consecutiveFailed == 2, "a second snapshot sees results beside the first")
        #expect(second.report == state.report())

        // Every guest passes while the first snapshot is still held: past the overlay's bound.
        for guest in guests { state.record(JobResult(job: guest, observation: .passed("up"))) }
        #expect(try #require(held).materialized() == before)
        let all = state.persistedState()
        #expect(guests.allSatisfy { all.jobs[$0.key]?.state.consecutivePassed == ($0 === guests[1] ? 2 : 1) })
        #expect(all.jobs[guests[0].key]?.state.runs == 3)
        #expect(all.report == state.report())

        // The snapshot let go, then a plan while another is held: the held one keeps the old plan, the new one works.
        held = nil
        state.record(JobResult(job: guests[2], observation: .failed("down")))
        #expect(state.record(forKey: guests[2].key)?.state.consecutiveFailed == 1)
        var old: Evaluator.Snapshot? = state.snapshot()
        let smaller = self.plan(instances: Array(instances.prefix(3)))
        state.apply(plan: smaller)
        state.record(JobResult(job: job(smaller, guests[2].key), observation: .failed("down")))
        #expect(try #require(old).materialized().jobs[guests[2].key]?.state.consecutiveFailed == 1)
        #expect(try #require(old).materialized().jobs.count == plan.jobs.count)
        old = nil
        state.record(JobResult(job: job(smaller, guests[2].key), observation: .failed("down")))
        #expect(state.record(forKey: guests[2].key)?.state.consecutiveFailed == 3)
        #expect(state.persistedState().report == state.report())
    }

    @Test("the status view has report()'s categories without their checks, rebuilt and patched; report(instanceIDs:) has the checks")
    func statusViewMatchesReport() throws {
        let clock = TestWallClock()
        let young = youngInstance(clock)
        let stopped = InstanceInfo(id: "i-0c", state: .stopped, availabilityZone: "ap-southeast-2a")
        let noVolumes = InstanceInfo(
            id: "i-0b", state: .running, availabilityZone: "ap-southeast-2a",
            launchTime: clock.now.addingTimeInterval(-3600))
        let state = Evaluator(
            node: node, settings: .init(launchGrace: .seconds(300), enabledCategories: [.system, .instance, .ebs]),
            wallClock: clock.function)
        let plan = plan(instances: [instance, young, stopped, noVolumes])
        state.apply(plan: plan)
        func expectSame(_ comment: Comment) {
            let full = state.report()
            let view = state.statusView()
            #expect(view == full.withoutChecks, comment)
            #expect(view.instances.allSatisfy { $0.system.checks.isEmpty && $0.instance.checks.isEmpty && $0.ebs.checks.isEmpty })
        }
        expectSame("after the plan")
        for _ in 0..<3 {
            clock.advance(10)
            state.record(JobResult(job: job(plan, "guest/i-0a"), observation: .failed("down")))
        }
        state.record(JobResult(job: job(plan, "disk/vol-1"), observation: .passed("reads")))
        expectSame("patched after transitions")
        #expect(state.statusView().instances.first { $0.instanceID == "i-0a" }?.instance.status == .impaired)
        state.record(JobResult(job: job(plan, "host/node-a"), observation: .failed("host down")))
        state.record(JobResult(job: job(plan, "host/node-a"), observation: .failed("host down")))
        state.record(JobResult(job: job(plan, "host/node-a"), observation: .failed("host down")))
        expectSame("rebuilt after a node check's transition")
        clock.advance(400)
        expectSame("rebuilt when a launch grace ended")

        let some = state.report(instanceIDs: ["i-0a", "i-0c"])
        let full = state.report()
        #expect(some.instances.map(\.instanceID) == ["i-0a", "i-0c"])
        #expect(some.instances == full.instances.filter { ["i-0a", "i-0c"].contains($0.instanceID) })
        #expect(some.instances.first?.instance.checks.first?.message == "down")
        #expect(some.node == full.node)
    }

    @Test("instances that leave the plan leave the report; stopped instances are not-applicable")
    func planChanges() throws {
        let state = Evaluator(node: node)
        state.apply(plan: plan(instances: [instance]))
        #expect(state.report().instances.count == 1)
        var stopped = instance
        stopped.state = .stopped
        state.apply(plan: plan(instances: [stopped]))
        let health = try #require(state.report().instances.first)
        #expect(health.system.status == .notApplicable)
        #expect(health.instance.status == .notApplicable)
        #expect(health.ebs.status == .notApplicable)
        state.apply(plan: plan(instances: []))
        #expect(state.report().instances.isEmpty)
    }

    @Test("pending events are bounded: the oldest are dropped and counted")
    func boundedEvents() {
        let clock = TestWallClock()
        let state = Evaluator(
            node: node, settings: .init(launchGrace: .zero, maxPendingEvents: 3), wallClock: clock.function)
        let plan = plan(instances: [instance])
        state.apply(plan: plan)
        let guest = job(plan, "guest/i-0a")
        for index in 0..<10 {
            state.record(JobResult(job: guest, observation: index % 2 == 0 ? .passed("up") : .failed("down")))
            state.record(JobResult(job: guest, observation: index % 2 == 0 ? .passed("up") : .failed("down")))
        }
        #expect(state.drainEvents().count == 3)
        #expect(state.droppedEvents > 0)
    }
}

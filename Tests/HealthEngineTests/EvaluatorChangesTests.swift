import Foundation
import HealthCore
import HealthEngine
import HealthTestKit
import Testing

@Suite("Evaluator changes for the journal")
struct EvaluatorChangesTests {
    let node = NodeInfo(name: "node-a", availabilityZone: "ap-southeast-2a")

    func plan(instances: [InstanceInfo]) -> Plan {
        let registry = try! ProbeRegistry([ScriptedProbe.self])
        let checks = [
            CheckDefinition(name: "host", category: .system, probe: "test.scripted", target: .node),
            CheckDefinition(name: "guest", category: .instance, probe: "test.scripted", target: .instance),
        ]
        return Plan.build(
            checks: checks, registry: registry, node: node, instances: instances, runtimeDirectory: "/run/hive")
    }

    func instance(_ id: String) -> InstanceInfo {
        InstanceInfo(
            id: id, state: .running, availabilityZone: "ap-southeast-2a",
            launchTime: Date(timeIntervalSince1970: 1_800_000_000 - 3600))
    }

    @Test("a new plan asks for a snapshot; then a transition gives its record and its instance's entry alone")
    func transitionGivesOneInstance() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, wallClock: clock.function)
        let plan = plan(instances: [instance("i-0a"), instance("i-0b")])
        state.apply(plan: plan)
        guard case .snapshot = state.takeChanges(includeCounters: false) else {
            Issue.record("a new plan needs a whole snapshot")
            return
        }
        guard case .none = state.takeChanges(includeCounters: true) else {
            Issue.record("nothing changed since the snapshot")
            return
        }
        let guest = try #require(plan.jobs.first { $0.key == "guest/i-0b" })
        state.record(JobResult(job: guest, observation: .passed("agent answers")))
        guard case .changes(let records, let node, let instances) = state.takeChanges(includeCounters: false) else {
            Issue.record("a transition is a change")
            return
        }
        #expect(Array(records.keys) == ["guest/i-0b"])
        #expect(records["guest/i-0b"]?.state.decided == .passed)
        #expect(instances.map(\.instanceID) == ["i-0b"])
        #expect(instances.first?.instance.status == .ok)
        #expect(node.name == "node-a")
    }

    @Test("counters alone wait for a counter flush; a node check's transition asks for a snapshot")
    func countersAndNodeChecks() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, wallClock: clock.function)
        let plan = plan(instances: [instance("i-0a")])
        state.apply(plan: plan)
        _ = state.takeChanges(includeCounters: true)
        let guest = try #require(plan.jobs.first { $0.key == "guest/i-0a" })
        state.record(JobResult(job: guest, observation: .passed("agent answers")))
        _ = state.takeChanges(includeCounters: false)
        clock.advance(60)
        state.record(JobResult(job: guest, observation: .passed("agent answers")))
        guard case .none = state.takeChanges(includeCounters: false) else {
            Issue.record("a second pass is no transition")
            return
        }
        guard case .changes(let records, _, let instances) = state.takeChanges(includeCounters: true) else {
            Issue.record("the counters moved")
            return
        }
        #expect(records["guest/i-0a"]?.state.runs == 2)
        #expect(instances.isEmpty)

        let host = try #require(plan.jobs.first { $0.key == "host/node-a" })
        state.record(JobResult(job: host, observation: .passed("fans spin")))
        guard case .snapshot = state.takeChanges(includeCounters: false) else {
            Issue.record("a node check's status feeds every instance: a snapshot")
            return
        }
    }

    @Test("with wholeAbove, more changed records than that share of the jobs ask for a snapshot; fewer, a change set")
    func mostlyChangedAsksForSnapshot() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, wallClock: clock.function)
        // 1 node job and 4 guest jobs.
        let plan = plan(instances: ["i-0a", "i-0b", "i-0c", "i-0d"].map(instance))
        state.apply(plan: plan)
        _ = state.takeChanges(includeCounters: true)
        let guests = plan.jobs.filter { $0.instanceID != nil }
        // One record of five changed: a fifth, not above `wholeAbove: 0.2`.
        state.record(JobResult(job: guests[0], observation: .passed("agent answers")))
        guard case .changes(let one, _, _) = state.takeChanges(includeCounters: false, wholeAbove: 0.2) else {
            Issue.record("one record of five is not above a fifth")
            return
        }
        #expect(Array(one.keys) == [guests[0].key])
        // Every guest moves (two transitions, two counter-only passes): four of five, above a quarter.
        for guest in guests { state.record(JobResult(job: guest, observation: .passed("agent answers"))) }
        guard case .snapshot = state.takeChanges(includeCounters: true, wholeAbove: 0.25) else {
            Issue.record("four records of five changed: a whole snapshot")
            return
        }
        // The snapshot took them all: nothing is left for a change set, and the snapshot has every guest's runs.
        guard case .none = state.takeChanges(includeCounters: true, wholeAbove: 0.25) else {
            Issue.record("the snapshot took every change")
            return
        }
        let saved = state.persistedState()
        #expect(saved.jobs[guests[0].key]?.state.runs == 2)
        #expect(guests.dropFirst().allSatisfy { saved.jobs[$0.key]?.state.runs == 1 })
        // Without wholeAbove the same burst is a change set, as the KV store wants it (each instance's record).
        for guest in guests { state.record(JobResult(job: guest, observation: .passed("agent answers"))) }
        guard case .changes(let all, _, _) = state.takeChanges(includeCounters: true) else {
            Issue.record("without wholeAbove, a change set")
            return
        }
        #expect(all.count == 4)
    }

    @Test("a streak that begins, grows or ends is journaled at once; a pass after a pass only moves counters")
    func streaksAreDurable() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, wallClock: clock.function)
        let registry = try ProbeRegistry([ScriptedProbe.self])
        var guest = CheckDefinition(name: "guest", category: .instance, probe: "test.scripted", target: .instance)
        guest.thresholds.consecutiveFailures = 3
        let plan = Plan.build(
            checks: [guest], registry: registry, node: node, instances: [instance("i-0a")],
            runtimeDirectory: "/run/hive")
        state.apply(plan: plan)
        _ = state.takeChanges(includeCounters: true)
        let job = try #require(plan.jobs.first)
        func journaled(_ observation: Observation) -> [String: JobRecord]? {
            let before = state.journalGeneration
            clock.advance(60)
            state.record(JobResult(job: job, observation: observation))
            guard case .changes(let records, _, _) = state.takeChanges(includeCounters: false) else {
                #expect(state.journalGeneration == before)
                return nil
            }
            #expect(state.journalGeneration != before)
            return records
        }
        #expect(journaled(.passed("up")) != nil, "the first pass decides passed")
        #expect(journaled(.passed("up")) == nil, "a pass after a pass")
        let first = try #require(journaled(.failed("down")), "a failing streak begins")
        #expect(first["guest/i-0a"]?.state.consecutiveFailed == 1)
        #expect(first["guest/i-0a"]?.state.failingSince != nil)
        let second = try #require(journaled(.failed("down")), "the streak grows toward its threshold of 3")
        #expect(second["guest/i-0a"]?.state.consecutiveFailed == 2)
        let third = try #require(journaled(.failed("down")), "the third failure decides failed")
        #expect(third["guest/i-0a"]?.state.decided == .failed)
        #expect(journaled(.failed("down")) == nil, "a failure past the threshold changes nothing a restart needs")
        #expect(journaled(.passed("up")) != nil, "the streak ends")
        #expect(journaled(.passed("up")) == nil)
        guard case .changes(let counters, _, _) = state.takeChanges(includeCounters: true) else {
            Issue.record("the counters of the passes after a pass are still there for the next full write")
            return
        }
        #expect(counters["guest/i-0a"]?.state.runs == 8)
    }
}

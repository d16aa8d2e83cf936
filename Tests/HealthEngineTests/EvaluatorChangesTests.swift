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
}

import Foundation
import HealthCore
import HealthEngine
import HealthTestKit
import Testing

@Suite("CategoryTransitions")
struct CategoryTransitionsTests {
    let node = NodeInfo(name: "node-a", availabilityZone: "ap-southeast-2a")
    let instance = InstanceInfo(
        id: "i-0a", state: .running, availabilityZone: "ap-southeast-2a",
        launchTime: Date(timeIntervalSince1970: 1_800_000_000 - 3600), volumes: [VolumeInfo(id: "vol-1")])

    func plan() -> Plan {
        let registry = try! ProbeRegistry([ScriptedProbe.self])
        let checks = [
            CheckDefinition(name: "host", category: .system, probe: "test.scripted", target: .node),
            CheckDefinition(name: "guest", category: .instance, probe: "test.scripted", target: .instance),
            CheckDefinition(name: "agent", category: .instance, probe: "test.scripted", target: .instance),
        ]
        return Plan.build(
            checks: checks, registry: registry, node: node, instances: [instance], runtimeDirectory: "/run/hive")
    }

    @Test("one event per category change, with the checks that decided it and a stable id; none for the baseline")
    func categoryChanges() throws {
        let clock = TestWallClock()
        let state = Evaluator(node: node, wallClock: clock.function)
        let plan = plan()
        state.apply(plan: plan)
        func job(_ key: String) -> Job { plan.jobs.first { $0.key == key }! }
        var transitions = CategoryTransitions()
        #expect(transitions.update(report: state.report(), checkEvents: [], now: clock.now).isEmpty, "baseline")
        // The daemon's way: the status view (no checks), the changed instances' checks asked for: the same events.
        var viewed = CategoryTransitions()
        func fromView(_ drained: [HealthEvent], now: Date) -> [CategoryEvent] {
            viewed.update(report: state.statusView(), checkEvents: drained, now: now) { state.report(instanceIDs: $0) }
        }
        #expect(fromView([], now: clock.now).isEmpty)

        clock.advance(60)
        state.record(JobResult(job: job("guest/i-0a"), observation: .passed("up")))
        state.record(JobResult(job: job("agent/i-0a"), observation: .passed("answers")))
        var drained = state.drainEvents()
        var events = transitions.update(report: state.report(), checkEvents: drained, now: clock.now)
        #expect(fromView(drained, now: clock.now) == events)
        #expect(events.map(\.category) == [.instance])
        #expect(events.first?.from == .insufficientData)
        #expect(events.first?.to == .ok)
        #expect(events.first?.checks.map(\.name).sorted() == ["agent", "guest"])
        #expect(events.first?.at == Date(timeIntervalSince1970: 1_800_000_060))

        for _ in 0..<2 {
            clock.advance(30)
            state.record(JobResult(job: job("guest/i-0a"), observation: .failed("agent silent")))
            state.record(JobResult(job: job("agent/i-0a"), observation: .passed("answers")))
        }
        drained = state.drainEvents()
        events = transitions.update(report: state.report(), checkEvents: drained, now: clock.now.addingTimeInterval(5))
        #expect(fromView(drained, now: clock.now.addingTimeInterval(5)) == events)
        let impaired = try #require(events.first)
        #expect(events.count == 1, "the system category did not change")
        #expect(impaired.from == .ok && impaired.to == .impaired)
        #expect(impaired.checks.map(\.name) == ["guest"], "only the failed check decided it")
        #expect(impaired.checks.first?.message == "agent silent")
        #expect(impaired.at == impaired.impairedSince)
        #expect(impaired.eventID == "node-a/i-0a/instance/ok>impaired@\(Int64(impaired.at.timeIntervalSince1970 * 1000))")

        // The same change seen by a second tracker (a restart that had seen `ok`) has the same id: de-duplicated.
        var again = CategoryTransitions()
        var before = state.report()
        before.instances[0].instance = CategoryStatus(status: .ok)
        _ = again.update(report: before, checkEvents: [], now: clock.now)
        let repeated = again.update(report: state.report(), checkEvents: [], now: clock.now.addingTimeInterval(99))
        #expect(repeated.map(\.eventID) == [impaired.eventID])

        #expect(transitions.update(report: state.report(), checkEvents: [], now: clock.now).isEmpty, "no change")
        let json = String(decoding: try JSONEncoder().encode(impaired), as: UTF8.self)
        #expect(json.contains(#""type":"category-transition""#))
    }
}

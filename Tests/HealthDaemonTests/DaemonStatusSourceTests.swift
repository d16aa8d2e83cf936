import Foundation
import HealthCore
import HealthEngine
import HealthTestKit
import Logging
import Testing

@testable import HealthDaemon

@Suite("The daemon's status source")
struct DaemonStatusSourceTests {
    @Test("the EC2 list has each instance's categories without their checks; the fleet page's list has the checks")
    func statusesWithoutChecksDetailsWithThem() async throws {
        let node = NodeInfo(name: "node-a", availabilityZone: "ap-southeast-2a")
        let launched = Date().addingTimeInterval(-3600)
        let instances = ["i-0b", "i-0a"].map {
            InstanceInfo(
                id: $0, state: .running, availabilityZone: "ap-southeast-2a", launchTime: launched,
                volumes: [VolumeInfo(id: "vol-\($0)")])
        }
        let checks = [
            CheckDefinition(name: "host", category: .system, probe: "test.scripted", target: .node),
            CheckDefinition(name: "guest", category: .instance, probe: "test.scripted", target: .instance),
            CheckDefinition(name: "disk", category: .ebs, probe: "test.scripted", target: .volume),
        ]
        let plan = Plan.build(
            checks: checks, registry: try ProbeRegistry([ScriptedProbe.self]), node: node, instances: instances,
            runtimeDirectory: "/run/hive")
        let state = Evaluator(node: node, settings: .init(launchGrace: .zero))
        state.apply(plan: plan)
        // Failures in a row up to the check's threshold make it failed.
        for _ in 0..<max(1, checks[1].thresholds.consecutiveFailures) {
            for job in plan.jobs {
                let failing = job.key == "guest/i-0b"
                state.record(JobResult(job: job, observation: failing ? .failed("agent silent") : .passed("fine")))
            }
        }
        let source = DaemonStatusSource(state: state, node: "node-a", fleet: nil, logger: Logger(label: "test"))

        let statuses = try await source.instanceStatuses()
        let details = try await source.instanceDetails()
        #expect(statuses.map(\.instanceID) == ["i-0a", "i-0b"])
        #expect(details.map(\.instanceID) == ["i-0a", "i-0b"])
        for view in statuses {
            #expect(view.node == "node-a")
            #expect(HealthCategory.allCases.allSatisfy { view.health[$0].checks.isEmpty })
        }
        // The same categories, statuses and ImpairedSince: only the checks differ.
        let stripped = HealthReport(
            node: NodeHealth(name: "node-a", system: CategoryStatus(status: .ok)), instances: details.map(\.health)
        ).withoutChecks
        #expect(statuses.map(\.health) == stripped.instances)
        #expect(statuses[1].health.instance.status == .impaired)
        #expect(statuses[1].health.instance.impairedSince != nil)
        // The details are report()'s entries.
        #expect(details.map(\.health) == state.report().instances)
        #expect(details[1].health.instance.checks.map(\.message) == ["agent silent"])
        #expect(details[0].health.system.checks.map(\.name) == ["host"])
    }
}

import Foundation
import HealthCore
import Testing

/// A check status with only what the aggregator looks at.
func checkStatus(
    _ name: String, _ status: DetailStatus, target: String = "i-1", impairedSince: Date? = nil
) -> CheckStatus {
    CheckStatus(
        name: name, probe: "test.\(name)", target: target, status: status, message: "\(name) \(status.rawValue)",
        observedAt: EvaluatorRun.start, impairedSince: impairedSince)
}

@Suite("Aggregator.summarize")
struct AggregatorSummaryTests {
    let early = EvaluatorRun.start
    let late = EvaluatorRun.start.addingTimeInterval(300)

    @Test("any failed check makes the category impaired since the earliest failing streak")
    func failedIsImpaired() {
        let summary = Aggregator.summarize([
            checkStatus("a", .passed),
            checkStatus("b", .failed, impairedSince: late),
            checkStatus("c", .insufficientData),
            checkStatus("d", .failed, impairedSince: early),
            checkStatus("e", .initializing),
        ])
        #expect(summary.status == .impaired)
        #expect(summary.impairedSince == early)
        #expect(summary.checks.count == 5)
    }

    @Test("a failed check without a time still impairs the category")
    func failedWithoutTime() {
        let summary = Aggregator.summarize([checkStatus("a", .failed), checkStatus("b", .failed, impairedSince: late)])
        #expect(summary.status == .impaired)
        #expect(summary.impairedSince == late)
        let untimed = Aggregator.summarize([checkStatus("a", .failed)])
        #expect(untimed.status == .impaired)
        #expect(untimed.impairedSince == nil)
    }

    @Test("without failures any insufficient-data check makes it insufficient-data")
    func insufficientData() {
        let summary = Aggregator.summarize([
            checkStatus("a", .passed), checkStatus("b", .initializing), checkStatus("c", .insufficientData),
        ])
        #expect(summary.status == .insufficientData)
        #expect(summary.impairedSince == nil)
    }

    @Test("without failures or missing data any initializing check makes it initializing")
    func initializing() {
        let summary = Aggregator.summarize([checkStatus("a", .passed), checkStatus("b", .initializing)])
        #expect(summary.status == .initializing)
    }

    @Test("all passed is ok")
    func allPassedIsOK() {
        let summary = Aggregator.summarize([checkStatus("a", .passed), checkStatus("b", .passed)])
        #expect(summary.status == .ok)
        #expect(summary.impairedSince == nil)
    }

    @Test("no checks is not-applicable")
    func emptyIsNotApplicable() {
        let summary = Aggregator.summarize([])
        #expect(summary.status == .notApplicable)
        #expect(summary.checks.isEmpty)
    }

    @Test("a category that does not apply is not-applicable whatever its checks say")
    func notApplicable() {
        let summary = Aggregator.summarize([checkStatus("a", .failed, impairedSince: early)], applicable: false)
        #expect(summary.status == .notApplicable)
        #expect(summary.impairedSince == nil)
    }

    @Test("checks are listed sorted by name, then target")
    func checksSorted() {
        let summary = Aggregator.summarize([
            checkStatus("b", .passed, target: "vol-1"), checkStatus("a", .passed, target: "vol-2"),
            checkStatus("a", .passed, target: "vol-1"),
        ])
        #expect(summary.checks.map { "\($0.name)@\($0.target)" } == ["a@vol-1", "a@vol-2", "b@vol-1"])
    }
}

@Suite("Aggregator.instanceHealth")
struct AggregatorInstanceHealthTests {
    let nodeChecks = [checkStatus("host.meminfo", .passed, target: "node-a")]

    @Test("the three categories are summarized from the instance's checks")
    func threeCategories() {
        let since = EvaluatorRun.start
        let health = Aggregator.instanceHealth(
            Fixture.instance(), nodeChecks: nodeChecks,
            checks: [
                (.instance, checkStatus("qmp.status", .failed, impairedSince: since)),
                (.instance, checkStatus("console.log", .passed)),
                (.ebs, checkStatus("nbd.export", .passed, target: "vol-0aa")),
                (.ebs, checkStatus("nbd.export", .initializing, target: "vol-0bb")),
            ])
        #expect(health.instanceID == "i-0123456789abcdef0")
        #expect(health.state == .running)
        #expect(health.availabilityZone == "ap-southeast-2a")
        #expect(health.system.status == .ok)
        #expect(health.instance.status == .impaired)
        #expect(health.instance.impairedSince == since)
        #expect(health.ebs.status == .initializing)
        #expect(health.ebs.checks.map(\.target) == ["vol-0aa", "vol-0bb"])
        #expect(health[.instance] == health.instance)
    }

    @Test("node checks count in every instance's system category")
    func nodeChecksInEverySystemCategory() {
        let failingNode = [checkStatus("host.edac", .failed, target: "node-a", impairedSince: EvaluatorRun.start)]
        for id in ["i-1", "i-2"] {
            let health = Aggregator.instanceHealth(
                Fixture.instance(id: id), nodeChecks: failingNode,
                checks: [(.system, checkStatus("ovs.port", .passed, target: id))])
            #expect(health.system.status == .impaired)
            #expect(health.system.impairedSince == EvaluatorRun.start)
            #expect(Set(health.system.checks.map(\.name)) == ["host.edac", "ovs.port"])
        }
    }

    @Test(
        "an instance that is not running has every category not-applicable",
        arguments: [
            InstanceState.stopped, .pending, .provisioning, .stopping, .shuttingDown, .terminated, .error,
        ])
    func notRunningIsNotApplicable(state: InstanceState) {
        let health = Aggregator.instanceHealth(
            Fixture.instance(state: state), nodeChecks: nodeChecks,
            checks: [
                (.instance, checkStatus("qmp.status", .failed)), (.ebs, checkStatus("nbd.export", .failed)),
                (.system, checkStatus("ovs.port", .failed)),
            ])
        #expect(health.state == state)
        for category in HealthCategory.allCases {
            #expect(health[category].status == .notApplicable)
            #expect(health[category].impairedSince == nil)
        }
    }

    @Test("ebs is not-applicable for an instance without volumes")
    func ebsWithoutVolumes() {
        let health = Aggregator.instanceHealth(
            Fixture.instance(volumes: []), nodeChecks: nodeChecks,
            checks: [(.instance, checkStatus("qmp.status", .passed)), (.ebs, checkStatus("qmp.block", .failed))])
        #expect(health.ebs.status == .notApplicable)
        #expect(health.instance.status == .ok)
        #expect(health.system.status == .ok)
    }

    @Test("a category with no checks is not-applicable")
    func categoryWithoutChecks() {
        let health = Aggregator.instanceHealth(Fixture.instance(), nodeChecks: [], checks: [])
        for category in HealthCategory.allCases { #expect(health[category].status == .notApplicable) }
    }

    @Test("disabled categories are not-applicable and the others still count")
    func disabledCategories() {
        let health = Aggregator.instanceHealth(
            Fixture.instance(), nodeChecks: nodeChecks,
            checks: [
                (.instance, checkStatus("qmp.status", .failed)), (.ebs, checkStatus("nbd.export", .failed)),
            ],
            enabled: [.system, .ebs])
        #expect(health.system.status == .ok)
        #expect(health.instance.status == .notApplicable)
        #expect(health.ebs.status == .impaired)
        let none = Aggregator.instanceHealth(Fixture.instance(), nodeChecks: nodeChecks, checks: [], enabled: [])
        #expect(none.system.status == .notApplicable)
    }

    @Test("the category subscript reads and writes each category")
    func subscriptReadsAndWrites() {
        var health = Aggregator.instanceHealth(Fixture.instance(), nodeChecks: nodeChecks, checks: [])
        health[.ebs] = CategoryStatus(status: .initializing)
        health[.instance] = CategoryStatus(status: .impaired)
        health[.system] = .notApplicable
        #expect(health.ebs.status == .initializing)
        #expect(health.instance.status == .impaired)
        #expect(health.system.status == .notApplicable)
    }
}

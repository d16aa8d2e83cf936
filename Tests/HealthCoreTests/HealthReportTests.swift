import Foundation
import HealthCore
import Testing

@Suite("HealthReport")
struct HealthReportTests {
    func report(node: [CheckStatus] = [], instances: [InstanceHealth] = []) -> HealthReport {
        HealthReport(node: NodeHealth(name: "node-a", system: Aggregator.summarize(node)), instances: instances)
    }

    func instance(_ checks: [(HealthCategory, CheckStatus)], state: InstanceState = .running) -> InstanceHealth {
        Aggregator.instanceHealth(Fixture.instance(state: state), nodeChecks: [], checks: checks)
    }

    @Test("exit code 0 when every check passed")
    func allPassed() {
        let report = report(
            node: [checkStatus("host.meminfo", .passed)],
            instances: [instance([(.instance, checkStatus("qmp.status", .passed))])])
        #expect(report.exitCode == 0)
        #expect(report.allChecks.count == 2)
    }

    @Test("exit code 0 for an empty report")
    func emptyReport() {
        #expect(report().exitCode == 0)
    }

    @Test("exit code 1 when anything failed, even next to insufficient data")
    func somethingFailed() {
        let instanceFailed = report(instances: [
            instance([
                (.ebs, checkStatus("nbd.export", .failed)), (.instance, checkStatus("qmp.status", .insufficientData)),
            ])
        ])
        #expect(instanceFailed.exitCode == 1)
        let nodeFailed = report(node: [checkStatus("host.smart", .failed), checkStatus("host.edac", .passed)])
        #expect(nodeFailed.exitCode == 1)
    }

    @Test("exit code 3 when nothing failed but some data is missing")
    func onlyInsufficientData() {
        let report = report(
            node: [checkStatus("host.meminfo", .passed)],
            instances: [instance([(.instance, checkStatus("qmp.guest-ping", .insufficientData))])])
        #expect(report.exitCode == 3)
    }

    @Test("allChecks lists the node's checks and every category of every instance")
    func allChecksCollectsEverything() {
        let report = report(
            node: [checkStatus("host.meminfo", .passed, target: "node-a")],
            instances: [
                instance([
                    (.system, checkStatus("ovs.port", .passed)), (.instance, checkStatus("qmp.status", .passed)),
                    (.ebs, checkStatus("nbd.export", .passed, target: "vol-0aa")),
                ])
            ])
        #expect(report.allChecks.map(\.name).sorted() == ["host.meminfo", "nbd.export", "ovs.port", "qmp.status"])
    }

    @Test("a failure in a category that does not apply does not fail the exit code")
    func notApplicableCategoryDoesNotCount() {
        let stopped = instance([(.instance, checkStatus("qmp.status", .failed))], state: .stopped)
        #expect(stopped.instance.status == .notApplicable)
        let report = report(node: [checkStatus("host.meminfo", .passed)], instances: [stopped])
        #expect(report.exitCode == 0)
    }

    @Test("the report encodes to the JSON shape of DESIGN section 7")
    func jsonShape() throws {
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        let report = report(
            node: [checkStatus("host.meminfo", .passed, target: "node-a")],
            instances: [
                instance([
                    (.instance, checkStatus("qmp.status", .failed, impairedSince: since)),
                    (.ebs, checkStatus("nbd.export", .passed, target: "vol-0aa")),
                ])
            ])
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let object = try JSONSerialization.jsonObject(with: encoder.encode(report)) as? [String: Any]
        let node = try #require(object?["node"] as? [String: Any])
        #expect(node["name"] as? String == "node-a")
        let nodeSystem = try #require(node["system"] as? [String: Any])
        #expect(nodeSystem["status"] as? String == "ok")
        #expect(nodeSystem["impaired_since"] is NSNull)

        let instances = try #require(object?["instances"] as? [[String: Any]])
        let first = try #require(instances.first)
        #expect(first["instance_id"] as? String == "i-0123456789abcdef0")
        #expect(first["state"] as? String == "running")
        #expect(first["availability_zone"] as? String == "ap-southeast-2a")
        let guest = try #require(first["instance"] as? [String: Any])
        #expect(guest["status"] as? String == "impaired")
        #expect(guest["impaired_since"] as? String == "2023-11-14T22:13:20Z")
        let check = try #require((guest["checks"] as? [[String: Any]])?.first)
        #expect(check["name"] as? String == "qmp.status")
        #expect(check["probe"] as? String == "test.qmp.status")
        #expect(check["target"] as? String == "i-1")
        #expect(check["status"] as? String == "failed")
        #expect(check["message"] as? String == "qmp.status failed")
        #expect(check["observed_at"] as? String == "2023-11-14T22:13:20Z")
        #expect(check["values"] == nil)
        let ebs = try #require(first["ebs"] as? [String: Any])
        #expect((ebs["checks"] as? [[String: Any]])?.first?["target"] as? String == "vol-0aa")
        #expect((first["system"] as? [String: Any])?["status"] as? String == "not-applicable")

        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(HealthReport.self, from: encoder.encode(report)) == report)
    }

    @Test("a check status decodes with optional fields missing")
    func checkStatusDecodesMinimal() throws {
        let json = #"{"name": "n", "probe": "p", "target": "t", "status": "insufficient-data"}"#
        let status = try JSONDecoder().decode(CheckStatus.self, from: Data(json.utf8))
        #expect(status.status == .insufficientData)
        #expect(status.message == "")
        #expect(status.observedAt == nil)
        #expect(status.impairedSince == nil)
        #expect(!status.flapping)
        #expect(status.values.isEmpty)
    }

    @Test("an unknown status string is a decoding error, not a crash")
    func unknownStatusRejected() {
        let json = #"{"name": "n", "probe": "p", "target": "t", "status": "broken"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CheckStatus.self, from: Data(json.utf8)) }
    }
}

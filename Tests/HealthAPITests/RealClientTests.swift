import Foundation
import HealthAPI
import HealthCore
import HealthTestKit
import Logging
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The API driven by the real clients: boto3 (one python process for the bulk) and the aws CLI.
@Suite(.serialized) struct RealClientTests {
    static let accessKey = "AKIDHIVEHEALTHTEST"
    static let secret = "hive-health-test-secret"

    func handler(
        _ views: [InstanceStatusView], signed: Bool, reports: (any InstanceStatusReportSink)? = nil
    ) -> EC2QueryHandler {
        EC2QueryHandler(
            source: StaticStatusSource(views), reports: reports,
            verifier: signed ? SigV4Verifier(credentials: [Self.accessKey: Self.secret]) : nil,
            logger: Logger(label: "api-test"))
    }

    func runBoto3(signed: Bool) async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-api")
        defer { folder.remove() }
        let views = Fleet.views(2500)
        try Fleet.fixtureJSON(views).write(to: URL(fileURLWithPath: folder.file("fleet.json")))
        let reports = FileReportStore(directory: folder.path)
        let result = try await RunningAPI.with(handler: handler(views, signed: signed, reports: reports)) { api in
            try await Tool.run(
                "python3",
                [
                    clientsDirectory + "/boto3_checks.py", api.endpoint, folder.file("fleet.json"),
                    signed ? "signed" : "unsigned", Self.accessKey, Self.secret,
                ],
                environment: Tool.awsEnvironment(home: folder.path), log: folder.file("boto3.log"),
                timeout: .seconds(150))
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\"failures\": []"), "\(result.output)")
        let saved = FileReportStore.load(path: reports.path)
        #expect(saved.count == 1)
        #expect(saved.first?.reasonCodes == ["unresponsive"])
        #expect(saved.first?.accessKeyID == (signed ? Self.accessKey : nil))
    }

    @Test func boto3UnsignedPaginationFiltersErrorsAndReports() async throws {
        try await runBoto3(signed: false)
    }

    @Test func boto3SignedPresignedAndRefusedRequests() async throws {
        try await runBoto3(signed: true)
    }

    @Test func awsCLIDescribesReportsAndFails() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-cli")
        defer { folder.remove() }
        let views = Fleet.views(30)
        let reports = FileReportStore(directory: folder.path)
        let environment = Tool.awsEnvironment(home: folder.path, accessKey: Self.accessKey, secret: Self.secret)
        try await RunningAPI.with(handler: handler(views, signed: true, reports: reports)) { api in
            func aws(_ arguments: [String], _ name: String) async throws -> Tool.Result {
                try await Tool.run(
                    "aws", ["ec2"] + arguments + ["--endpoint-url", api.endpoint, "--output", "json"],
                    environment: environment, log: folder.file(name + ".log"), timeout: .seconds(60))
            }
            let all = try await aws(["describe-instance-status", "--include-all-instances"], "describe")
            #expect(all.status == 0, "\(all.output)")
            let json = try JSONSerialization.jsonObject(with: Data(all.output.utf8)) as? [String: Any]
            let statuses = json?["InstanceStatuses"] as? [[String: Any]] ?? []
            #expect(statuses.count == 30)
            let first = statuses.first { ($0["InstanceId"] as? String) == Fleet.id(2) } ?? [:]
            #expect((first["SystemStatus"] as? [String: Any])?["Status"] as? String == "ok")
            #expect((first["InstanceStatus"] as? [String: Any])?["Status"] as? String == "ok")
            #expect((first["AttachedEbsStatus"] as? [String: Any])?["Status"] as? String == "ok")
            #expect((first["Events"] as? [[String: Any]])?.first?["Code"] as? String == "system-reboot")

            let filtered = try await aws(
                ["describe-instance-status", "--filters", "Name=system-status.status,Values=impaired"], "filtered")
            #expect(filtered.status == 0, "\(filtered.output)")
            let ids =
                ((try? JSONSerialization.jsonObject(with: Data(filtered.output.utf8))) as? [String: Any])?[
                    "InstanceStatuses"] as? [[String: Any]]
            let expected = views.filter { $0.health.state == .running && $0.health.system.status == .impaired }
            #expect(ids?.count == expected.count)

            // The filters and the parameter botocore 1.43 added to the call: accepted, each its answer.
            let running = views.filter { $0.health.state == .running }
            let inZoneA = running.filter { $0.health.availabilityZone == "us-east-1a" }.count
            let expectations: [(String, Int)] = [
                ("Name=availability-zone-id,Values=use1-az1", inZoneA),
                ("Name=operator.managed,Values=false", running.count),
                ("Name=operator.principal,Values=*", 0),
                ("Name=event.not-before-deadline,Values=2026-01-01T00:00:00Z", 0),
            ]
            for (filter, count) in expectations {
                let result = try await aws(
                    ["describe-instance-status", "--include-managed-resources", "--filters", filter], "new-filter")
                #expect(result.status == 0, "\(filter): \(result.output)")
                let found =
                    ((try? JSONSerialization.jsonObject(with: Data(result.output.utf8))) as? [String: Any])?[
                        "InstanceStatuses"] as? [[String: Any]]
                #expect(found?.count == count, "\(filter)")
                if let item = found?.first {
                    #expect(item["AvailabilityZoneId"] as? String != nil && item["Operator"] != nil, "\(item)")
                }
            }

            let report = try await aws(
                [
                    "report-instance-status", "--instances", Fleet.id(2), "--status", "impaired", "--reason-codes",
                    "unresponsive", "performance-network", "--description", "from the aws CLI",
                ], "report")
            #expect(report.status == 0, "\(report.output)")
            #expect(FileReportStore.load(path: reports.path).first?.description == "from the aws CLI")

            let missing = try await aws(["describe-instance-status", "--instance-ids", "i-0fff"], "missing")
            #expect(missing.status != 0)
            #expect(missing.output.contains("InvalidInstanceID.NotFound"), "\(missing.output)")
            let combination = try await aws(
                ["describe-instance-status", "--instance-ids", Fleet.id(2), "--max-results", "5"], "combination")
            #expect(combination.output.contains("InvalidParameterCombination"), "\(combination.output)")
        }
    }

    @Test func metricsPassPromtool() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-prom")
        defer { folder.remove() }
        let metrics = HealthMetrics()
        let views = Fleet.views(50)
        metrics.update(instances: views)
        metrics.recordCheck(probe: "qmp-status", duration: 0.002)
        metrics.recordCheck(probe: "guest-ping", duration: 0.2)
        metrics.update(schedulerLag: 0.01, droppedMessages: 2, droppedEvents: 0)
        metrics.countReport()
        // The catalogue gauge keeps one series: the version pushed before is replaced.
        metrics.update(catalogue: CatalogueVersion(source: .shared, version: 2, sha256: "0ab1"))
        metrics.update(catalogue: CatalogueVersion(source: .shared, version: 3, sha256: "c2d3", rejectedVersion: 4))
        let handler = handler(views, signed: false)
        let text = try await RunningAPI.with(handler: handler, metrics: metrics) { api in
            let (data, response) = try await URLSession.shared.data(from: URL(string: api.endpoint + "/metrics")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let (health, healthResponse) = try await URLSession.shared.data(
                from: URL(string: api.endpoint + "/healthz")!)
            #expect((healthResponse as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: health, as: UTF8.self) == "ok\n")
            return String(decoding: data, as: UTF8.self)
        }
        // The body is the exposition as rendered, byte for byte, and render() is the same text.
        #expect(Array(text.utf8) == metrics.renderBytes())
        #expect(text == metrics.render())
        #expect(text.contains("status_check_failed_system{instance_id=\"\(Fleet.id(7))\"} 1"), "\(text.prefix(2000))")
        #expect(text.contains("hive_health_check_runs_total{probe=\"guest-ping\"} 1"))
        // Insufficient data never reads as a healthy 0: no series, and a gauge that says so.
        let noData = Fleet.id(5)
        #expect(views[5].health.instance.status == .insufficientData)
        #expect(!text.contains("status_check_failed_instance{instance_id=\"\(noData)\"}"), "\(text.prefix(3000))")
        #expect(!text.contains("status_check_failed{instance_id=\"\(noData)\"}"))
        #expect(text.contains("status_check_failed_system{instance_id=\"\(noData)\"} 0"))
        #expect(
            text.contains(
                "hive_health_status_check_insufficient_data{instance_id=\"\(noData)\",category=\"instance\"} 1"))
        #expect(
            text.contains(
                "hive_health_status_check_insufficient_data{instance_id=\"\(noData)\",category=\"system\"} 0"))
        #expect(
            text.contains(
                #"hive_health_catalogue_info{source="shared",version="3",sha256="c2d3",rejected_version="4"} 1"#),
            "\(text.suffix(3000))")
        #expect(!text.contains(#"version="2""#), "the pushed-over version's series is gone")
        try text.write(toFile: folder.file("metrics.txt"), atomically: true, encoding: .utf8)
        let result = try await Tool.run(
            "/bin/sh", ["-c", "promtool check metrics < \(folder.file("metrics.txt"))"],
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"],
            log: folder.file("promtool.log"))
        #expect(result.status == 0, "\(result.output)")
    }
}

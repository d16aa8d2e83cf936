import Foundation
import HealthAPI
import HealthCore
import HealthTestKit
import Logging
import Testing

/// CloudWatch on the API's address: the aws CLI (botocore 1.43: smithy-rpc-v2-cbor) and boto3 in each of its three
/// protocols read the history's StatusCheckFailed datapoints; the CBOR codec under hostile bytes.
@Suite(.serialized) struct CloudWatchTests {
    static let accessKey = "AKIDHIVEHEALTHCW"
    static let secret = "hive-health-cloudwatch-secret"

    /// An hour of minutes from `start` (aligned to 10 minutes): `Fleet.id(7)`'s system status impaired in the last
    /// 20 of them, every other series ok; 150 instances, so ListMetrics has two pages.
    static func history(start: Date) -> MetricHistory {
        let history = MetricHistory()
        for minute in 0..<60 {
            let at = start.addingTimeInterval(Double(minute) * 60 + 5)
            var points: [(MetricHistory.SeriesKey, Double)] = []
            for index in 0..<150 {
                let failed: Double = index == 7 && minute >= 40 ? 1 : 0
                for metric in StatusCheckMetric.allCases {
                    let value = metric == .system || metric == .statusCheckFailed ? failed : 0
                    points.append((MetricHistory.SeriesKey(instanceID: Fleet.id(index), metric: metric), value))
                }
            }
            history.record(points, at: at)
        }
        return history
    }

    static func run<T: Sendable>(
        _ history: MetricHistory, _ body: @Sendable (RunningAPI) async throws -> T
    ) async throws -> T {
        let verifier = SigV4Verifier(credentials: [accessKey: secret])
        let handler = EC2QueryHandler(
            source: StaticStatusSource(Fleet.views(10)), verifier: verifier, logger: Logger(label: "cw-test"))
        let cloudWatch = CloudWatchHandler(history: history, verifier: verifier, logger: Logger(label: "cw-test"))
        return try await RunningAPI.with(handler: handler, cloudWatch: cloudWatch, body)
    }

    static var start: Date {
        let now = Date().timeIntervalSince1970
        return Date(timeIntervalSince1970: ((now - 3600) / 600).rounded(.down) * 600)
    }

    @Test func awsCLIReadsStatisticsDataAndMetrics() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-cwcli")
        defer { folder.remove() }
        let start = Self.start
        let end = start.addingTimeInterval(3600)
        let iso = Date.ISO8601FormatStyle()
        let environment = Tool.awsEnvironment(home: folder.path, accessKey: Self.accessKey, secret: Self.secret)
        let id = Fleet.id(7)
        let outputs = try await Self.run(Self.history(start: start)) { api in
            func aws(_ arguments: [String], _ name: String) async throws -> WireValue {
                let result = try await Tool.run(
                    "aws", ["cloudwatch"] + arguments + ["--endpoint-url", api.endpoint, "--output", "json"],
                    environment: environment, log: folder.file(name + ".log"), timeout: .seconds(60))
                #expect(result.status == 0, "\(name): \(result.output)")
                return (try? JSONDecoder().decode(WireValue.self, from: Data(result.output.utf8))) ?? .null
            }
            let window = ["--start-time", iso.format(start), "--end-time", iso.format(end)]
            let statistics = try await aws(
                [
                    "get-metric-statistics", "--namespace", "AWS/EC2", "--metric-name", "StatusCheckFailed_System",
                    "--dimensions", "Name=InstanceId,Value=\(id)", "--period", "300", "--statistics", "Maximum",
                    "Sum",
                ] + window, "statistics")
            let query =
                #"[{"Id":"system","MetricStat":{"Metric":{"Namespace":"AWS/EC2","MetricName":"StatusCheckFailed","#
                + #""Dimensions":[{"Name":"InstanceId","Value":"\#(id)"}]},"Period":600,"Stat":"Average"}}]"#
            let data = try await aws(["get-metric-data", "--metric-data-queries", query] + window, "data")
            let listed = try await aws(
                ["list-metrics", "--namespace", "AWS/EC2", "--dimensions", "Name=InstanceId,Value=\(id)"], "list")
            let all = try await aws(["list-metrics", "--namespace", "AWS/EC2"], "list-all")
            return (statistics, data, listed, all)
        }
        let points = (outputs.0["Datapoints"]?.list ?? []).sorted {
            ($0["Timestamp"]?.string ?? "") < ($1["Timestamp"]?.string ?? "")
        }
        #expect(points.count == 12, "\(outputs.0)")
        #expect(points.map { $0["Maximum"]?.number ?? -1 } == Array(repeating: 0, count: 8) + [1, 1, 1, 1])
        #expect(points.map { $0["Sum"]?.number ?? -1 } == Array(repeating: 0, count: 8) + [5, 5, 5, 5])
        #expect(points.first?["Unit"]?.string == "Count")
        let result = outputs.1["MetricDataResults"]?.list?.first
        #expect(result?["StatusCode"]?.string == "Complete", "\(outputs.1)")
        #expect(result?["Values"]?.list?.map { $0.number ?? -1 } == [1, 1, 0, 0, 0, 0], "newest first")
        #expect(outputs.2["Metrics"]?.list?.count == 4, "\(outputs.2)")
        #expect(outputs.3["Metrics"]?.list?.count == 600, "the CLI follows NextToken")
    }

    @Test func boto3InEachProtocol() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-cwpy")
        defer { folder.remove() }
        let start = Self.start
        let end = start.addingTimeInterval(3600)
        let result = try await Self.run(Self.history(start: start)) { api in
            try await Tool.run(
                "python3",
                [
                    clientsDirectory + "/cloudwatch_checks.py", api.endpoint, Fleet.id(7),
                    String(Int(start.timeIntervalSince1970)), String(Int(end.timeIntervalSince1970)), Self.accessKey,
                    Self.secret, folder.path,
                ],
                environment: Tool.awsEnvironment(home: folder.path), log: folder.file("boto3.log"),
                timeout: .seconds(120))
        }
        #expect(result.status == 0, "\(result.output)")
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let seen = try JSONDecoder().decode(WireValue.self, from: Data(line.utf8))
        for (name, wire) in [("default", "smithy-rpc-v2-cbor"), ("json", "json"), ("query", "query")] {
            let protocolSeen = try #require(seen[name], "\(result.output)")
            #expect(protocolSeen["protocol"]?.string == wire)
            let stats = protocolSeen["stats"]?.list ?? []
            #expect(stats.count == 12, "\(name): \(protocolSeen)")
            #expect(stats.map { $0["max"]?.number ?? -1 } == Array(repeating: 0, count: 8) + [1, 1, 1, 1])
            #expect(stats.first?["n"]?.number == 5)
            #expect(stats.first?["t"]?.number == start.timeIntervalSince1970)
            let failed = protocolSeen["data"]?["failed"]
            #expect(failed?["values"]?.list?.count == 60, "\(name)")
            #expect(failed?["values"]?.list?.filter { $0.number == 1 }.count == 20)
            #expect(failed?["times"]?.list?.first?.number == start.timeIntervalSince1970, "ascending")
            #expect(failed?["status"]?.string == "Complete")
            #expect(protocolSeen["data"]?["missing"]?["values"]?.list?.isEmpty == true)
            #expect(protocolSeen["data"]?["missing"]?["label"]?.string == "nothing")
            #expect(protocolSeen["listed"]?.number == 600)
            #expect(protocolSeen["listed_one"]?.number == 4)
            #expect(protocolSeen["error"]?.string == "InvalidParameterValue", "\(name): \(protocolSeen)")
            #expect(protocolSeen["error_status"]?.number == 400)
            #expect(protocolSeen["bad_signature"]?.string == "SignatureDoesNotMatch", "\(name): \(protocolSeen)")
        }
    }

    @Test func cborRoundTripsAndSurvivesHostileBytes() throws {
        let document = WireValue.object([
            ("a", .integer(-5)), ("b", .list([.double(1.5), .bool(true), .null, .string("ü")])),
            ("t", .timestamp(Date(timeIntervalSince1970: 1_800_000_000.5))), ("n", .integer(1 << 40)),
        ])
        #expect(try CBOR.decode(CBOR.encode(document)) == document)
        // Indefinite lengths and half floats, as other encoders write them.
        #expect(try CBOR.decode([0x9F, 0xF9, 0x3C, 0x00, 0x7F, 0x61, 0x61, 0xFF, 0xFF]) == .list([.double(1), .string("a")]))
        // Deep nesting, huge lengths and truncation are errors, not traps.
        #expect(throws: CBOR.DecodeError.self) { try CBOR.decode(Array(repeating: 0x81, count: 10_000) + [0]) }
        #expect(throws: CBOR.DecodeError.self) { try CBOR.decode([0x5B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) }
        #expect(throws: CBOR.DecodeError.self) { try CBOR.decode([0x9B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) }
        #expect(throws: CBOR.DecodeError.self) { try CBOR.decode([0xBF, 0x61]) }
        var random = SplitMix(state: 0xCB0E)
        let seed = CBOR.encode(document)
        var decoded = 0
        for round in 0..<5000 {
            var bytes = round % 2 == 0 ? seed : (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            for _ in 0..<Int.random(in: 0...4, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if (try? CBOR.decode(bytes)) != nil { decoded += 1 }
        }
        #expect(decoded > 0)
    }
}

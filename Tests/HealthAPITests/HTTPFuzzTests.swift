import Foundation
import HealthAPI
import HealthCore
import HealthTestKit
import Logging
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The real server over loopback under thousands of seeded hostile requests (odd methods and paths, bad encodings,
/// broken CBOR and JSON, oversized bodies): every answer is an AWS error document in the caller's protocol with a
/// 4xx status (or a well-formed success), and a normal request still works afterwards.
@Suite(.serialized) struct HTTPFuzzTests {
    static let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "TRACE", "HEAD"]
    static let paths = [
        "/", "/?Action=DescribeInstanceStatus&Version=2016-11-15", "/?Action=Nope&Version=2016-11-15",
        "/?Action=ListMetrics&Version=2010-08-01", "/?%zz", "/service/GraniteServiceVersion20100801/operation/ListMetrics",
        "/service/GraniteServiceVersion20100801/operation/GetMetricData", "/service/Other/operation/X", "/nope",
        "/service/", "/metrics/x", "/%ff%fe",
    ]
    static let contentTypes = [
        "application/x-www-form-urlencoded", "application/cbor", "application/x-amz-json-1.0", "text/plain", "",
    ]
    static let bodies: [[UInt8]] = [
        Array("Action=DescribeInstanceStatus&Version=2016-11-15&MaxResults=5".utf8),
        Array("Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS/EC2&MetricName=StatusCheckFailed".utf8)
            + Array("&StartTime=2026-01-01T00:00:00Z&EndTime=2026-01-01T01:00:00Z&Period=60&Statistics.member.1=Sum".utf8),
        CBOR.encode(
            .object([
                ("Namespace", .string("AWS/EC2")),
                ("StartTime", .timestamp(Date(timeIntervalSince1970: 1_790_000_000))),
                ("EndTime", .timestamp(Date(timeIntervalSince1970: 1_790_003_600))),
                ("MetricDataQueries", .list([.object([("Id", .string("a"))])])),
            ])),
        Array(#"{"Namespace":"AWS/EC2","MetricName":"StatusCheckFailed","Dimensions":[{"Name":"InstanceId"}]}"#.utf8),
        [],
    ]

    struct Reply {
        var status: Int
        var contentType: String
        var body: Data
    }

    static func send(
        _ session: URLSession, _ endpoint: String, method: String, path: String, headers: [String: String],
        body: [UInt8]
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: endpoint + path)!)
        request.httpMethod = method
        request.timeoutInterval = 20
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if !body.isEmpty, method != "GET", method != "HEAD" { request.httpBody = Data(body) }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        return Reply(
            status: http?.statusCode ?? 0, contentType: http?.value(forHTTPHeaderField: "Content-Type") ?? "",
            body: data)
    }

    /// The reply is a document of its content type: EC2 or CloudWatch error XML, a CBOR or JSON map with `__type`.
    static func wellFormed(_ reply: Reply, method: String) -> Bool {
        if method == "HEAD" { return true }
        if reply.contentType.hasPrefix("text/xml") {
            let parser = XMLParser(data: reply.body)
            guard parser.parse() else { return false }
            let text = String(decoding: reply.body, as: UTF8.self)
            return reply.status == 200 || (text.contains("<Code>") && text.contains("<Message>"))
        }
        if reply.contentType.hasPrefix("application/cbor") {
            guard let value = try? CBOR.decode(Array(reply.body)), case .map = value else { return false }
            return reply.status == 200 || value["__type"]?.string != nil
        }
        if reply.contentType.hasPrefix("application/x-amz-json") {
            guard let value = try? JSONDecoder().decode(WireValue.self, from: reply.body), case .map = value else {
                return false
            }
            return reply.status == 200 || value["__type"]?.string != nil
        }
        return false
    }

    @Test func thousandsOfHostileRequestsGetAWSErrorsAndTheServerKeepsServing() async throws {
        let logger = Logger(label: "http-fuzz")
        let handler = EC2QueryHandler(source: StaticStatusSource(Fleet.views(20)), logger: logger)
        let cloudWatch = CloudWatchHandler(history: MetricHistory(), logger: logger)
        try await RunningAPI.with(handler: handler, cloudWatch: cloudWatch) { api in
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 4
            let session = URLSession(configuration: configuration)
            var random = SplitMix(state: 0x5EED_F022)
            var statuses: [Int: Int] = [:]
            var failures: [String] = []
            for round in 0..<2500 {
                var method = Self.methods.randomElement(using: &random)!
                let path = Self.paths.randomElement(using: &random)!
                var headers: [String: String] = ["Accept": "*/*"]
                let type = Self.contentTypes.randomElement(using: &random)!
                if !type.isEmpty { headers["Content-Type"] = type }
                if Bool.random(using: &random) { headers["smithy-protocol"] = "rpc-v2-cbor" }
                if Int.random(in: 0..<4, using: &random) == 0 {
                    headers["X-Amz-Target"] = "GraniteServiceVersion20100801." + ["ListMetrics", "Nope", ""].randomElement(using: &random)!
                }
                var body: [UInt8]
                switch Int.random(in: 0..<10, using: &random) {
                case 0:
                    body = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                default:
                    body = Self.bodies.randomElement(using: &random)!
                    for _ in 0..<Int.random(in: 0...6, using: &random) where !body.isEmpty {
                        let position = Int.random(in: 0..<body.count, using: &random)
                        if Bool.random(using: &random) {
                            body[position] = UInt8.random(in: 0...255, using: &random)
                        } else {
                            body.remove(at: position)
                        }
                    }
                }
                if round % 25 == 0 {
                    method = "POST"
                    body = Array(repeating: UInt8(ascii: "a"), count: EC2API.maxRequestBytes + 1000)
                }
                let reply: Reply
                do {
                    reply = try await Self.send(session, api.endpoint, method: method, path: path, headers: headers, body: body)
                } catch {
                    failures.append("round \(round): \(method) \(path): no answer: \(error)")
                    continue
                }
                statuses[reply.status, default: 0] += 1
                let statusOK = reply.status == 200 || (400..<500).contains(reply.status)
                if !statusOK || !Self.wellFormed(reply, method: method) {
                    failures.append(
                        "round \(round): \(method) \(path) \(headers) -> \(reply.status) \(reply.contentType) "
                            + String(decoding: reply.body.prefix(300), as: UTF8.self))
                }
                if failures.count > 20 { break }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(statuses[400, default: 0] > 100, "\(statuses)")
            #expect(statuses[413, default: 0] > 0, "\(statuses)")
            #expect(statuses[404, default: 0] > 0, "\(statuses)")
            let normal = try await Self.send(
                session, api.endpoint, method: "POST", path: "/",
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: Array("Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true".utf8))
            #expect(normal.status == 200)
            #expect(String(decoding: normal.body, as: UTF8.self).contains("DescribeInstanceStatusResponse"))
        }
    }
}

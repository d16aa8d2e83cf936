import Foundation
import HealthAPI
import HealthCore
import HealthTestKit
import Logging
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The query parser and the whole handler under random and mutated input: no crash, always well-formed XML.
@Suite struct FuzzTests {
    static let seeds = [
        "Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true&MaxResults=5",
        "Action=DescribeInstanceStatus&Version=2016-11-15&Filter.1.Name=availability-zone&Filter.1.Value.1=us-*",
        "Action=DescribeInstanceStatus&Version=2016-11-15&InstanceId.1=i-00000000000000002&DryRun=false",
        "Action=ReportInstanceStatus&Version=2016-11-15&InstanceId.1=i-00000000000000002&Status=impaired"
            + "&ReasonCode.1=unresponsive&StartTime=2026-01-01T00:00:00Z&Description=x",
        "Action=DescribeInstanceStatus&Version=2016-11-15&MaxResults=5&NextToken=hh1.aS0wMDAwMDAwMDAwMDAwMDAwNQ",
    ]
    static let alphabet = Array("=&%+.*?<>\"'\u{0}\u{1}\u{7f}\u{ff}aZ09-_~ /".utf8)

    @Test func randomAndMutatedRequestsAlwaysGetWellFormedXML() async throws {
        let handler = EC2QueryHandler(
            source: StaticStatusSource(Fleet.views(30)), logger: Logger(label: "fuzz"))
        var random = SplitMix(state: 0x4869_7665)
        var statuses: [Int: Int] = [:]
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in
                    Bool.random(using: &random)
                        ? Self.alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
                }
            } else {
                bytes = Array(Self.seeds.randomElement(using: &random)!.utf8)
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    let position = Int.random(in: 0...bytes.count, using: &random)
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0 where position < bytes.count: bytes.remove(at: position)
                    case 1: bytes.insert(Self.alphabet.randomElement(using: &random)!, at: position)
                    case 2 where position < bytes.count: bytes[position] = UInt8.random(in: 0...255, using: &random)
                    default:
                        let seed = Array(Self.seeds.randomElement(using: &random)!.utf8)
                        bytes.insert(
                            contentsOf: seed.prefix(Int.random(in: 0...seed.count, using: &random)), at: position)
                    }
                }
            }
            _ = try? QueryParameters.parse(bytes)
            let response = await handler.handle(.init(method: "POST", body: bytes))
            statuses[response.status, default: 0] += 1
            #expect(isWellFormed(response.body), "round \(round): \(bytes) -> \(response.body)")
            #expect([200, 400, 412].contains(response.status), "round \(round): \(response.status)")
        }
        #expect(statuses[200, default: 0] > 0)
        #expect(statuses[400, default: 0] > 0)
    }
}

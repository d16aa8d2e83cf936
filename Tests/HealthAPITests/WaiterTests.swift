import Foundation
import HealthAPI
import HealthCore
import HealthTestKit
import Logging
import Synchronization
import Testing

/// `aws ec2 wait instance-status-ok` and `system-status-ok` (botocore's waiters-2.json: DescribeInstanceStatus
/// polled every 15 s until every `InstanceStatus.Status` / `SystemStatus.Status` is `ok`) against a status that
/// turns ok after the first poll.
@Suite(.serialized) struct WaiterTests {
    static let accessKey = "AKIDHIVEHEALTHWAIT"
    static let secret = "hive-health-wait-secret"

    /// How many times the status was read.
    final class Polls: Sendable {
        let count = Mutex(0)
    }

    /// The fleet's view: `initializing` (instance) and `insufficient-data` (system) until `okAfter` polls.
    static func source(polls: Polls, okAfter: Int) -> ClosureStatusSource {
        ClosureStatusSource {
            let count = polls.count.withLock { value -> Int in
                value += 1
                return value
            }
            let ok = count > okAfter
            return (0..<4).map { index in
                var view = Fleet.view(index * 3 + 2)
                view.health.state = .running
                view.health.system = CategoryStatus(status: ok ? .ok : .insufficientData)
                view.health.instance = CategoryStatus(status: ok ? .ok : .initializing)
                return view
            }
        }
    }

    func waitFor(_ waiter: String) async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-wait")
        defer { folder.remove() }
        let polls = Polls()
        let handler = EC2QueryHandler(
            source: Self.source(polls: polls, okAfter: 1),
            verifier: SigV4Verifier(credentials: [Self.accessKey: Self.secret]), logger: Logger(label: "waiter"))
        let environment = Tool.awsEnvironment(home: folder.path, accessKey: Self.accessKey, secret: Self.secret)
        let ids = [Fleet.id(2), Fleet.id(5)]
        let result = try await RunningAPI.with(handler: handler) { api in
            try await Tool.run(
                "aws", ["ec2", "wait", waiter, "--instance-ids"] + ids + ["--endpoint-url", api.endpoint],
                environment: environment, log: folder.file("wait.log"), timeout: .seconds(90))
        }
        #expect(result.status == 0, "\(result.output)")
        let count = polls.count.withLock { $0 }
        #expect(count >= 2, "the waiter polled until the status turned ok")
    }

    @Test func instanceStatusOkWaiterReturnsOnceTheInstanceStatusIsOk() async throws {
        try await waitFor("instance-status-ok")
    }

    @Test func systemStatusOkWaiterReturnsOnceTheSystemStatusIsOk() async throws {
        try await waitFor("system-status-ok")
    }
}

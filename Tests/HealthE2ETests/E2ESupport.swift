import Foundation
import HealthNATS
import HealthTestKit
import Logging

/// The aws CLI against the daemon's EC2 API (dummy credentials; the region is hive.toml's), off the cooperative pool.
enum AWSCLI {
    struct Result {
        var status: Int32
        var output: String
    }

    static func describeInstanceStatus(endpoint: String, region: String, home: String) async throws -> Result {
        try await offCooperativePool {
            try run(
                [
                    "ec2", "describe-instance-status", "--endpoint-url", endpoint, "--include-all-instances",
                    "--output", "json",
                ], region: region, home: home)
        }
    }

    /// `InstanceStatuses` by instance id, nil when the CLI failed.
    static func statuses(endpoint: String, region: String, home: String) async throws -> [String: [String: Any]]? {
        let result = try await describeInstanceStatus(endpoint: endpoint, region: region, home: home)
        guard result.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            let list = object["InstanceStatuses"] as? [[String: Any]]
        else { return nil }
        var byID: [String: [String: Any]] = [:]
        for item in list { if let id = item["InstanceId"] as? String { byID[id] = item } }
        return byID
    }

    private static func run(_ arguments: [String], region: String, home: String) throws -> Result {
        let current = ProcessInfo.processInfo.environment
        guard let aws = ChildProcess.which("aws") else {
            throw HiveInstanceLauncher.Failure("the aws CLI is not installed (scripts/test.sh installs it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: aws)
        process.arguments = arguments
        process.environment = [
            "PATH": current["PATH"] ?? "/usr/bin:/bin", "HOME": home,
            "PYENV_ROOT": current["PYENV_ROOT"] ?? ((current["HOME"] ?? "/root") + "/.pyenv"),
            "AWS_CONFIG_FILE": home + "/aws-config", "AWS_SHARED_CREDENTIALS_FILE": home + "/aws-credentials",
            "AWS_ACCESS_KEY_ID": "AKIDE2ETEST", "AWS_SECRET_ACCESS_KEY": "e2e-test-secret",
            "AWS_DEFAULT_REGION": region, "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        ]
        let out = home + "/aws-\(UUID().uuidString).out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }
}

/// Every message on `hive.health.events`, in arrival order (the real NATS client).
final class EventLog: @unchecked Sendable {
    // `@unchecked Sendable`: `events` is only touched under `lock`.
    struct Event: Sendable, CustomStringConvertible {
        var id: String
        var category: String
        var check: String
        var target: String
        var from: String
        var to: String
        var description: String { "\(check)/\(target) \(from)>\(to)" }
    }

    private let lock = NSLock()
    private var events: [Event] = []
    private var task: Task<Void, Never>?
    private let subscription: NATSSubscription

    init(connection: NATSConnection, prefix: String = "hive") throws {
        subscription = try connection.subscribe("\(prefix).health.events")
        let subscription = subscription
        task = Task { [weak self] in
            for await message in subscription {
                guard
                    let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any],
                    let check = object["check"] as? String
                else { continue }
                let event = Event(
                    id: object["event_id"] as? String ?? "", category: object["category"] as? String ?? "",
                    check: check, target: object["target"] as? String ?? "",
                    from: object["from"] as? String ?? "", to: object["to"] as? String ?? "")
                self?.lock.withLock { self?.events.append(event) }
            }
        }
    }

    var all: [Event] { lock.withLock { events } }

    /// Events of `check` since index `start`.
    func of(_ check: String, since start: Int = 0) -> [Event] {
        all.dropFirst(start).filter { $0.check == check }
    }

    func stop() {
        subscription.unsubscribe()
        task?.cancel()
    }
}

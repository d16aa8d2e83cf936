import Foundation
import HealthNATS
import HealthTestKit
import Logging
import Testing

/// The issue's "done when": `hive-health run` with NATS serves the EC2 API; the aws CLI describes the daemon's view
/// with its three categories; `report-instance-status` is accepted, shows in `hive-health status` and on NATS.
@Suite("The EC2 API of hive-health run", .serialized)
struct APICommandTests {
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw CommandTimeout(arguments: ["bind a free port"]) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func aws(_ arguments: [String], home: URL) throws -> CommandResult {
        let current = ProcessInfo.processInfo.environment
        let environment: [String: String] = [
            "PATH": current["PATH"] ?? "/usr/bin:/bin", "HOME": home.path,
            "PYENV_ROOT": current["PYENV_ROOT"] ?? ((current["HOME"] ?? "/root") + "/.pyenv"),
            "AWS_CONFIG_FILE": home.appending(path: "aws-config").path,
            "AWS_SHARED_CREDENTIALS_FILE": home.appending(path: "aws-credentials").path,
            "AWS_ACCESS_KEY_ID": "AKIDCLITEST", "AWS_SECRET_ACCESS_KEY": "cli-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        ]
        let process = Process()
        guard let aws = ChildProcess.which("aws") else { throw CommandTimeout(arguments: ["aws is not installed"]) }
        process.executableURL = URL(fileURLWithPath: aws)
        process.arguments = ["ec2"] + arguments
        process.environment = environment
        let out = home.appending(path: "aws-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        return CommandResult(status: process.terminationStatus, stdout: text, stderr: text)
    }

    @Test("aws CLI: describe-instance-status shows the daemon's view; report-instance-status reaches status and NATS")
    func awsCLIAgainstTheDaemon() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let port = try Self.freePort()
        let inventory = folder.url.appending(path: "instances.json")
        try Data(#"{"vms": {"i-0a1": {"id": "i-0a1", "status": "running"}}}"#.utf8).write(to: inventory)
        let config = folder.url.appending(path: "hive.toml")
        try Data(
            """
            node = "node-api"
            [nodes.node-api.nats]
            host = "127.0.0.1:\(server.port)"
            [health.api]
            listen = "127.0.0.1:\(port)"
            [health.api.credentials]
            AKIDCLITEST = "cli-test-secret"
            """.utf8
        ).write(to: config)
        let client = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: Logger(label: "test"))
        defer { client.close() }
        let events = try client.subscribe("hive.health.events")
        defer { events.unsubscribe() }

        let process = try HiveHealthBinary.start(
            [
                "run", "--config", config.path, "--inventory", "file:\(inventory.path)",
                "--state-dir", folder.url.appending(path: "s").path,
            ],
            log: folder.url.appending(path: "run.log"))
        defer { HiveHealthBinary.stopBlocking(process) }
        let endpoint = "http://127.0.0.1:\(port)"
        var statuses: [[String: Any]] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline, process.isRunning, statuses.isEmpty {
            let result = try Self.aws(
                ["describe-instance-status", "--endpoint-url", endpoint, "--include-all-instances", "--output", "json"],
                home: folder.url)
            if result.status == 0, let object = try? jsonObject(result.stdout) as? [String: Any] {
                statuses = object["InstanceStatuses"] as? [[String: Any]] ?? []
            }
            if statuses.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
        }
        let log = { (try? String(contentsOf: folder.url.appending(path: "run.log"), encoding: .utf8)) ?? "" }
        let instance = try #require(statuses.first, "daemon log:\n\(log().suffix(3000))")
        #expect(instance["InstanceId"] as? String == "i-0a1")
        for category in ["SystemStatus", "InstanceStatus", "AttachedEbsStatus"] {
            #expect((instance[category] as? [String: Any])?["Status"] is String, "\(category) in \(instance)")
        }

        let report = try Self.aws(
            [
                "report-instance-status", "--endpoint-url", endpoint, "--instances", "i-0a1", "--status", "impaired",
                "--reason-codes", "unresponsive", "--description", "cannot ssh",
            ], home: folder.url)
        #expect(report.status == 0, "\(report.stdout)")

        let published = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                for await message in events where message.text.contains("instance-status-report") {
                    return message.text
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(published?.contains("cannot ssh") == true)

        // `status` needs the daemon's first save (within seconds of the first results).
        var reports: [[String: Any]] = []
        var lastStatus = ""
        let statusDeadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < statusDeadline, process.isRunning, reports.isEmpty {
            let status = try await HiveHealthBinary.run(["status", "--config", config.path, "--format", "json"])
            lastStatus = status.stdout + status.stderr
            if let object = try? jsonObject(status.stdout) as? [String: Any] {
                reports = object["reports"] as? [[String: Any]] ?? []
            }
            if reports.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
        }
        #expect(reports.first?["description"] as? String == "cannot ssh", "\(lastStatus.suffix(2000))")
        #expect(reports.first?["instance_ids"] as? [String] == ["i-0a1"])
        #expect(await HiveHealthBinary.stop(process) == 0)
    }
}

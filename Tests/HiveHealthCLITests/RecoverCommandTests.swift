import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HealthNATS
import HealthTestKit
import Logging
import Synchronization
import Testing

@Suite("hive-health recover with a running daemon", .serialized)
struct RecoverCommandTests {
    @Test("a system impairment becomes a proposal; recover approve makes the daemon send stop_instance to Hive")
    func proposalApprovedFromTheCommandLine() async throws {
        let vm = #"{"id": "i-0cli", "status": "running", "ebs_requests": {"Requests": [{"Name": "v", "Boot": true}]}}"#
        let daemon = try await RecoveringDaemon.start(
            node: "node-cli", launchGrace: "0s", vms: #"{"vms": {"i-0cli": \#(vm)}}"#)
        defer { daemon.close() }
        let (config, apiPort, process, client) = (daemon.config, daemon.apiPort, daemon.process, daemon.client)
        func log() -> String { daemon.log() }
        // Hive's command responder: records each command and answers it.
        let commands = Mutex<[String]>([])
        let responder = try client.subscribe("ec2.cmd.*")
        try await client.flush()
        let responding = Task {
            for await message in responder {
                commands.withLock { $0.append(message.subject + " " + message.text) }
                if let reply = message.replyTo { try? client.publish(reply, payload: Array("{}".utf8)) }
            }
        }
        defer {
            responder.unsubscribe()
            responding.cancel()
        }

        var proposal: [String: Any]?
        var listed = ""
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline, process.isRunning, proposal == nil {
            let list = try await HiveHealthBinary.run(["recover", "list", "--config", config.path, "--format", "json"])
            proposal = (try? jsonObject(list.stdout) as? [[String: Any]])?.first
            listed = list.stdout + list.stderr
            if proposal == nil { try await Task.sleep(for: .milliseconds(300)) }
        }
        let found = try #require(proposal, "recover list: \(listed)\ndaemon log:\n\(log())")
        #expect(found["state"] as? String == "proposed")
        #expect(found["action"] as? String == "stop-start")
        #expect(found["instance"] as? String == "i-0cli")
        #expect(commands.withLock { $0.isEmpty })
        // While the recovery is pending, DescribeInstanceStatus shows it in the instance's eventsSet.
        let describe = try #require(
            URL(
                string: "http://127.0.0.1:\(apiPort)/?Action=DescribeInstanceStatus&Version=2016-11-15"
                    + "&IncludeAllInstances=true"))
        var answer = ""
        let scheduled = await eventually(timeout: .seconds(20), poll: .milliseconds(250)) {
            guard let (data, _) = try? await URLSession.shared.data(from: describe) else { return false }
            answer = String(decoding: data, as: UTF8.self)
            return answer.contains("<code>instance-stop</code>")
        }
        #expect(scheduled, "DescribeInstanceStatus: \(answer)\ndaemon log:\n\(log())")
        #expect(answer.contains("instance-event-"), "\(answer)")
        #expect(answer.contains("<instanceId>i-0cli</instanceId>"), "\(answer)")

        let id = try #require(found["id"] as? String)
        let approve = try await HiveHealthBinary.run(["recover", "approve", id, "--config", config.path])
        #expect(approve.status == 0, "\(approve.stderr)")
        #expect(approve.stdout.contains("approved"))
        let sent = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            commands.withLock { $0.contains { $0.hasPrefix("ec2.cmd.i-0cli ") && $0.contains("stop_instance") } }
        }
        #expect(sent, "daemon log:\n\(log())")
        let again = try await HiveHealthBinary.run(["recover", "reject", id, "--config", config.path])
        #expect(again.status == 1)
        let table = try await HiveHealthBinary.run(["recover", "list", "--config", config.path])
        #expect(table.stdout.contains("stopping"), "\(table.stdout)")
        #expect(await HiveHealthBinary.stop(process) == 0)
    }

    @Test("aws ec2 modify-instance-maintenance-options --auto-recovery disabled: that instance alone is not recovered")
    func autoRecoveryDisabledFromTheAWSCLI() async throws {
        func vm(_ id: String) -> String {
            #""\#(id)": {"id": "\#(id)", "status": "running", "#
                + #""ebs_requests": {"Requests": [{"Name": "v", "Boot": true}]}}"#
        }
        // Both instances are impaired once the launch grace is over.
        let daemon = try await RecoveringDaemon.start(
            node: "node-mnt", launchGrace: "10s", vms: "{\"vms\": {\(vm("i-0a")), \(vm("i-0b"))}}")
        defer { daemon.close() }
        let (config, apiPort, process, folder) = (daemon.config, daemon.apiPort, daemon.process, daemon.folder)
        func log() -> String { daemon.log() }
        let endpoint = "http://127.0.0.1:\(apiPort)"
        let home = folder.url
        var modified: CommandResult?
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline, process.isRunning, modified?.status != 0 {
            modified = try await offCooperativePool {
                try APICommandTests.aws(
                    [
                        "modify-instance-maintenance-options", "--endpoint-url", endpoint, "--instance-id", "i-0a",
                        "--auto-recovery", "disabled", "--output", "json",
                    ], home: home)
            }
            if modified?.status != 0 { try await Task.sleep(for: .milliseconds(300)) }
        }
        let answer = try #require(modified, "daemon log:\n\(log())")
        #expect(answer.status == 0, "\(answer.stdout)\n\(log())")
        let object = try? jsonObject(answer.stdout) as? [String: Any]
        #expect(object?["InstanceId"] as? String == "i-0a", "\(answer.stdout)")
        #expect(object?["AutoRecovery"] as? String == "disabled", "\(answer.stdout)")
        let wrong = try await offCooperativePool {
            try APICommandTests.aws(
                [
                    "modify-instance-maintenance-options", "--endpoint-url", endpoint, "--instance-id", "i-0fff",
                    "--auto-recovery", "disabled",
                ], home: home)
        }
        #expect(wrong.status != 0 && wrong.stdout.contains("InvalidInstanceID.NotFound"), "\(wrong.stdout)")

        // After the launch grace both are impaired: i-0b gets a proposal, i-0a (considered first, same round) none.
        var records: [[String: Any]] = []
        let proposed = await eventually(timeout: .seconds(60), poll: .milliseconds(300)) {
            guard
                let list = try? await HiveHealthBinary.run([
                    "recover", "list", "--config", config.path, "--format", "json",
                ])
            else { return false }
            records = (try? jsonObject(list.stdout) as? [[String: Any]]) ?? []
            return records.contains { $0["instance"] as? String == "i-0b" }
        }
        #expect(proposed, "recover list: \(records)\ndaemon log:\n\(log())")
        #expect(!records.contains { $0["instance"] as? String == "i-0a" }, "\(records)")
        let table = try await HiveHealthBinary.run(["recover", "list", "--config", config.path])
        #expect(table.stdout.contains("auto-recovery disabled"), "\(table.stdout)")
        #expect(table.stdout.contains("i-0a\tsince"), "\(table.stdout)")
        // Back to default: i-0a is proposed too.
        let restored = try await offCooperativePool {
            try APICommandTests.aws(
                [
                    "modify-instance-maintenance-options", "--endpoint-url", endpoint, "--instance-id", "i-0a",
                    "--auto-recovery", "default",
                ], home: home)
        }
        #expect(restored.status == 0, "\(restored.stdout)")
        let both = await eventually(timeout: .seconds(30), poll: .milliseconds(300)) {
            guard
                let list = try? await HiveHealthBinary.run([
                    "recover", "list", "--config", config.path, "--format", "json",
                ])
            else { return false }
            records = (try? jsonObject(list.stdout) as? [[String: Any]]) ?? []
            return records.contains { $0["instance"] as? String == "i-0a" }
        }
        #expect(both, "recover list: \(records)\ndaemon log:\n\(log())")
        #expect(await HiveHealthBinary.stop(process) == 0)
    }
}

/// What both recovery tests run: nats-server; a checks.d of `node.heartbeat` alone, and no Hive heartbeat is ever
/// written, so every instance's system status becomes impaired (after `launchGrace`); Hive's VMs in
/// `hive-instance-state`; and `hive-health run` on hive-kv with the API on a free port and recovery every second.
private struct RecoveringDaemon {
    let server: NATSServerProcess
    let folder: TemporaryFolder
    let config: URL
    let apiPort: Int
    let client: NATSConnection
    let process: Process

    static func start(node: String, launchGrace: String, vms: String) async throws -> RecoveringDaemon {
        let server = try NATSServerProcess()
        let folder = try TemporaryFolder()
        do {
            let checks = folder.url.appending(path: "checks.d")
            try FileManager.default.createDirectory(at: checks, withIntermediateDirectories: true)
            try Data(
                """
                checks:
                  - name: node.heartbeat
                    probe: node.heartbeat
                    target: node
                    interval: 1s
                """.utf8
            ).write(to: checks.appending(path: "checks.yaml"))
            let config = folder.url.appending(path: "hive.toml")
            let apiPort = try NATSServerProcess.freePort()
            try Data(
                """
                node = "\(node)"
                [nodes.\(node).nats]
                host = "127.0.0.1:\(server.port)"
                [health]
                launch_grace_period = "\(launchGrace)"
                [health.inventory]
                source = "hive-kv"
                [health.api]
                listen = "127.0.0.1:\(apiPort)"
                [health.recovery]
                interval = "1s"
                """.utf8
            ).write(to: config)
            let client = try await NATSConnection.connect(
                NATSConfiguration(url: server.url), requireServer: true, logger: Logger(label: "test"))
            let hive = try await client.keyValue(KeyValueBucketConfiguration(bucket: "hive-instance-state"))
            _ = try await client.keyValue(KeyValueBucketConfiguration(bucket: "hive-cluster-state"))
            try await hive.put("node.\(node)", value: Array(vms.utf8))
            let process = try HiveHealthBinary.start(
                [
                    "run", "--config", config.path, "--checks", checks.path,
                    "--state-dir", folder.url.appending(path: "s").path, "--log-level", "info",
                ],
                log: folder.url.appending(path: "run.log"))
            return RecoveringDaemon(
                server: server, folder: folder, config: config, apiPort: apiPort, client: client, process: process)
        } catch {
            folder.remove()
            server.stop()
            throw error
        }
    }

    /// The end of the daemon's log, for failure messages.
    func log() -> String {
        let text = (try? String(contentsOf: folder.url.appending(path: "run.log"), encoding: .utf8)) ?? ""
        return String(text.suffix(3000))
    }

    /// Stops the daemon (if a test did not) and everything else started.
    func close() {
        HiveHealthBinary.stopBlocking(process)
        client.close()
        folder.remove()
        server.stop()
    }
}

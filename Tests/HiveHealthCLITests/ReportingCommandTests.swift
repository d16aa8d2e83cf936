import Foundation
import HealthTestKit
import Testing

@Suite("hive-health probes, check, status, run")
struct ReportingCommandTests {
    @Test("probes --format json lists every kind with its parameters")
    func probes() async throws {
        let result = try await HiveHealthBinary.run(["probes", "--format", "json"])
        #expect(result.status == 0)
        let probes = try #require(try jsonObject(result.stdout) as? [[String: Any]])
        let kinds = probes.compactMap { $0["kind"] as? String }
        for kind in [
            "host.meminfo", "host.thermal", "host.edac", "qemu.process", "exec", "nbd.export", "nbd.device", "qmp.block",
            "ebs.attachment", "host.smart",
        ] {
            #expect(kinds.contains(kind), "\(kind) missing from \(kinds)")
        }
        let meminfo = try #require(probes.first { $0["kind"] as? String == "host.meminfo" })
        #expect(meminfo["category"] as? String == "system")
        #expect(meminfo["target"] as? String == "node")
        let parameters = try #require(meminfo["parameters"] as? [[String: Any]])
        let percent = try #require(parameters.first { $0["name"] as? String == "min_available_percent" })
        #expect(percent["type"] as? String == "number")
        #expect(percent["required"] as? Bool == false)
        #expect(percent["default"] as? Double == 5)
        #expect((percent["doc"] as? String)?.isEmpty == false)
        let exec = try #require(probes.first { $0["kind"] as? String == "exec" })
        let command = try #require((exec["parameters"] as? [[String: Any]])?.first { $0["name"] as? String == "command" })
        #expect(command["required"] as? Bool == true)
    }

    @Test("check --format json reports the node's system category from the real /proc and /sys")
    func checkRealHost() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let inventory = folder.url.appending(path: "instances.json")
        try Data(#"{"vms": {}}"#.utf8).write(to: inventory)
        let result = try await HiveHealthBinary.run([
            "check", "--format", "json", "--checks", HiveHealthBinary.packageRoot.appending(path: "checks.d").path,
            "--inventory", "file:\(inventory.path)", "--node", "node-test",
        ])
        let object = try #require(try jsonObject(result.stdout) as? [String: Any], "\(result.stdout)\(result.stderr)")
        let node = try #require(object["node"] as? [String: Any])
        #expect(node["name"] as? String == "node-test")
        let system = try #require(node["system"] as? [String: Any])
        let checks = try #require(system["checks"] as? [[String: Any]])
        let names = Set(checks.compactMap { $0["name"] as? String })
        #expect(names == ["host.memory", "host.thermal", "host.memory-errors", "host.smart"])
        let memory = try #require(checks.first { $0["name"] as? String == "host.memory" })
        #expect(memory["probe"] as? String == "host.meminfo")
        #expect(memory["target"] as? String == "node-test")
        #expect((memory["message"] as? String)?.contains("available") == true)
        #expect(memory["observed_at"] is String)
        #expect(system.keys.contains("impaired_since"))
        let statuses = checks.compactMap { $0["status"] as? String }
        let expected: Int32 = statuses.contains("failed") ? 1 : statuses.contains("insufficient-data") ? 3 : 0
        #expect(result.status == expected)
        #expect((object["instances"] as? [Any])?.isEmpty == true)
    }

    @Test("check reports an instance with its three categories; a dead QEMU fails qemu.process with exit 1")
    func checkInstance() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let inventory = folder.url.appending(path: "instances.json")
        let pidFile = folder.url.appending(path: "i-0feed.pid")
        try Data("999999999\n".utf8).write(to: pidFile)
        try Data(
            """
            {"vms": {"i-0feed": {"id": "i-0feed", "status": "running", "config": {"pid_file": "\(pidFile.path)"}}}}
            """.utf8
        ).write(to: inventory)
        let result = try await HiveHealthBinary.run([
            "check", "--format", "json", "--checks", HiveHealthBinary.packageRoot.appending(path: "checks.d").path,
            "--inventory", "file:\(inventory.path)",
        ])
        #expect(result.status == 1)
        let object = try #require(try jsonObject(result.stdout) as? [String: Any])
        let instance = try #require((object["instances"] as? [[String: Any]])?.first)
        #expect(instance["instance_id"] as? String == "i-0feed")
        #expect(instance["state"] as? String == "running")
        let guest = try #require(instance["instance"] as? [String: Any])
        #expect(guest["status"] as? String == "impaired")
        let ebs = try #require(instance["ebs"] as? [String: Any])
        #expect(ebs["status"] as? String == "not-applicable")
        let system = try #require(instance["system"] as? [String: Any])
        #expect((system["checks"] as? [Any])?.count == 4, "node checks count in every instance's system category")

        let table = try await HiveHealthBinary.run([
            "check", "--checks", HiveHealthBinary.packageRoot.appending(path: "checks.d").path,
            "--inventory", "file:\(inventory.path)",
        ])
        #expect(table.status == 1)
        #expect(table.stdout.contains("i-0feed"))
        #expect(table.stdout.contains("impaired"))
    }

    @Test(
        "run with no arguments works on the built-in defaults; status asks it, then reads its store after SIGTERM"
    )
    func runAndStatus() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let state = folder.url.appending(path: "state")
        let environment = ["STATE_DIRECTORY": state.path]
        let process = try HiveHealthBinary.start(["run"], environment: environment, log: folder.url.appending(path: "run.log"))
        defer { HiveHealthBinary.stopBlocking(process) }
        // The running daemon answers as soon as its first checks ran (their splay is within the interval).
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        var report: [String: Any]?
        while ContinuousClock.now < deadline, process.isRunning {
            let status = try await HiveHealthBinary.run(["status", "--format", "json"], environment: environment)
            if let object = try? jsonObject(status.stdout) as? [String: Any],
                let node = object["node"] as? [String: Any], let system = node["system"] as? [String: Any],
                let checks = system["checks"] as? [[String: Any]], !checks.isEmpty
            {
                report = object
                break
            }
            usleep(200_000)
        }
        let log = (try? String(contentsOf: folder.url.appending(path: "run.log"), encoding: .utf8)) ?? ""
        let object = try #require(report, "no status within 60 s; daemon log:\n\(log)")
        let node = try #require(object["node"] as? [String: Any])
        let names = ((node["system"] as? [String: Any])?["checks"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names?.contains("host.memory") == true)
        let live = try #require(object["source"] as? [String: Any])
        #expect(live["kind"] as? String == "daemon", "\(live)")
        #expect((live["pid"] as? Int).map(Int32.init) == process.processIdentifier, "\(live)")
        let table = try await HiveHealthBinary.run(["status"], environment: environment)
        let firstLines = "source: running daemon (pid \(process.processIdentifier))\nNODE "
        #expect(table.stdout.hasPrefix(firstLines), "\(table.stdout)")
        #expect(await HiveHealthBinary.stop(process) == 0, "graceful shutdown exits 0")

        // Stopped: the final save, read from the store.
        let stored = try await HiveHealthBinary.run(["status", "--format", "json"], environment: environment)
        let storedSource = try #require((try jsonObject(stored.stdout) as? [String: Any])?["source"] as? [String: Any])
        #expect(storedSource["kind"] as? String == "store", "\(storedSource)")
        #expect(storedSource["location"] as? String == state.path)
        #expect(storedSource["saved_at"] is String)
        #expect(storedSource["daemon_unreachable"] == nil, "no socket left, nothing to explain: \(storedSource)")
        let storedTable = try await HiveHealthBinary.run(["status"], environment: environment)
        #expect(storedTable.stdout.hasPrefix("source: state store \(state.path) (saved at "), "\(storedTable.stdout)")

        // Something silent on the socket path: the store after the wait, and why.
        let silent = try FakeUnixPeer(path: state.appending(path: "hive-health.sock").path) {
            $0.waitForClose(timeout: .seconds(30))
        }
        defer { silent.stop() }
        let fallback = try await HiveHealthBinary.run(["status", "--wait", "0.5"], environment: environment)
        #expect(fallback.status == stored.status, "\(fallback.stderr)")
        #expect(fallback.stdout.hasPrefix("source: state store \(state.path) (saved at "), "\(fallback.stdout)")
        #expect(fallback.stdout.contains("control socket did not answer"), "\(fallback.stdout)")
        #expect(fallback.stdout.contains("no answer"), "\(fallback.stdout)")
    }

    @Test("status without saved state explains what is missing (66)")
    func statusWithoutState() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let result = try await HiveHealthBinary.run(["status", "--state-dir", folder.path])
        #expect(result.status == 66)
        #expect(result.stderr.contains("no saved state"))
        #expect(!result.stderr.contains("USAGE"))
    }

    @Test("a command without the NATS it needs exits 78, with NATS unreachable 69; the reason alone, no usage text")
    func daemonDataUnreachable() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let noNATS = folder.url.appending(path: "no-nats.toml")
        try Data("node = \"n1\"\n".utf8).write(to: noNATS)
        let recover = try await HiveHealthBinary.run(["recover", "list", "--config", noNATS.path])
        #expect(recover.status == 78, "\(recover.stderr)")
        #expect(recover.stderr.contains("needs NATS"), "\(recover.stderr)")
        #expect(!recover.stderr.contains("USAGE"), "\(recover.stderr)")

        // A port nobody listens on.
        let closed = folder.url.appending(path: "closed.toml")
        let port = try NATSServerProcess.freePort()
        try Data("node = \"n1\"\n[nodes.n1.nats]\nhost = \"127.0.0.1:\(port)\"\n".utf8).write(to: closed)
        for command in [["status"], ["recover", "history"]] {
            let result = try await HiveHealthBinary.run(command + ["--config", closed.path])
            #expect(result.status == 69, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("cannot reach NATS"), "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("USAGE"), "\(command): \(result.stderr)")
        }
        let agents = try await HiveHealthBinary.run(["catalog", "agents", "--config", closed.path])
        #expect(agents.status == 2, "catalog documents 2 for every error: \(agents.stderr)")
    }
}

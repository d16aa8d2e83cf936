import Foundation
import HealthTestKit
import Testing

@Suite("catalog push, pull and diff on a real nats-server", .serialized)
struct CatalogCommandTests {
    static let checks = """
        checks:
          - name: host.memory
            probe: host.meminfo
            target: node
            thresholds:
              consecutive_failures: 3
        """

    func writeConfig(_ folder: TemporaryFolder, server: NATSServerProcess) throws -> String {
        let config = folder.url.appending(path: "hive.toml")
        try Data(
            """
            node = "node-cli"
            [nodes.node-cli.nats]
            host = "127.0.0.1:\(server.port)"
            [health.nats]
            heartbeat_interval = "300ms"
            """.utf8
        ).write(to: config)
        return config.path
    }

    func write(_ text: String, _ name: String, in directory: URL) throws {
        let url = directory.appending(path: name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    @Test("push stores a version, pull writes it back, diff says identical (0) or lists what differs (1)")
    func roundTrip() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let config = try writeConfig(folder, server: server)
        let source = folder.url.appending(path: "source")
        try write(Self.checks, "10-host.yaml", in: source)
        try write("overrides:\n  - checks: host.memory\n    interval: 30s\n", "environments/prod.yaml", in: source)

        let empty = try await HiveHealthBinary.run(["catalog", "diff", source.path, "--config", config])
        #expect(empty.status == 2, "nothing pushed yet: \(empty.stdout)\(empty.stderr)")

        let push = try await HiveHealthBinary.run(["catalog", "push", source.path, "--config", config])
        #expect(push.status == 0, "\(push.stdout)\(push.stderr)")
        #expect(push.stdout.contains("pushed version 1"))
        let again = try await HiveHealthBinary.run(["catalog", "push", source.path, "--config", config])
        #expect(again.status == 0)
        #expect(again.stdout.contains("unchanged: version 1"))

        let pulled = folder.url.appending(path: "pulled")
        let pull = try await HiveHealthBinary.run(["catalog", "pull", pulled.path, "--config", config])
        #expect(pull.status == 0, "\(pull.stdout)\(pull.stderr)")
        #expect(try String(contentsOf: pulled.appending(path: "10-host.yaml"), encoding: .utf8) == Self.checks)
        #expect(FileManager.default.fileExists(atPath: pulled.appending(path: "environments/prod.yaml").path))

        let same = try await HiveHealthBinary.run(["catalog", "diff", pulled.path, "--config", config])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.contains("identical to version 1"))

        try write(Self.checks.replacingOccurrences(of: "3", with: "4"), "10-host.yaml", in: pulled)
        try write("checks: []\n", "20-extra.yaml", in: pulled)
        let changed = try await HiveHealthBinary.run(["catalog", "diff", pulled.path, "--config", config])
        #expect(changed.status == 1, "\(changed.stdout)\(changed.stderr)")
        #expect(changed.stdout.contains("--- cluster-v1/10-host.yaml"))
        #expect(changed.stdout.contains("-      consecutive_failures: 3"))
        #expect(changed.stdout.contains("+      consecutive_failures: 4"))
        #expect(changed.stdout.contains("+++ \(pulled.path)/20-extra.yaml"))

        let push2 = try await HiveHealthBinary.run(["catalog", "push", pulled.path, "--config", config])
        #expect(push2.stdout.contains("pushed version 2"), "\(push2.stdout)\(push2.stderr)")
        let old = folder.url.appending(path: "old")
        let pullOld = try await HiveHealthBinary.run(["catalog", "pull", old.path, "--version", "1", "--config", config])
        #expect(pullOld.status == 0, "\(pullOld.stderr)")
        #expect(try String(contentsOf: old.appending(path: "10-host.yaml"), encoding: .utf8) == Self.checks)
    }

    @Test("a broken catalogue is refused at push with its errors and exit 1, and nothing is stored")
    func brokenRefused() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let config = try writeConfig(folder, server: server)
        let broken = folder.url.appending(path: "broken")
        try write("checks:\n  - name: x\n    probe: no.such.probe\n", "10-bad.yaml", in: broken)
        try write("overrides:\n  - checks: nothing.matches\n    interval: 5s\n", "environments/prod.yaml", in: broken)
        let push = try await HiveHealthBinary.run(["catalog", "push", broken.path, "--config", config])
        #expect(push.status == 1, "\(push.stdout)\(push.stderr)")
        #expect(push.stdout.contains("10-bad.yaml:3:"))
        #expect(push.stdout.contains("unknown probe kind 'no.such.probe'"))
        #expect(push.stdout.contains("environments/prod.yaml:2:"))
        #expect(push.stderr.contains("refused"))
        let pull = try await HiveHealthBinary.run(
            ["catalog", "pull", folder.url.appending(path: "p").path, "--config", config])
        #expect(pull.status == 2)
    }

    @Test("a running agent applies a push without a restart and status reports the version it runs")
    func agentReportsVersion() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let config = try writeConfig(folder, server: server)
        let local = folder.url.appending(path: "local")
        try write(Self.checks, "10-host.yaml", in: local)
        try Data("{\"vms\": {}}".utf8).write(to: folder.url.appending(path: "instances.json"))
        let process = try HiveHealthBinary.start(
            [
                "run", "--config", config, "--checks", local.path,
                "--inventory", "file:\(folder.url.appending(path: "instances.json").path)",
                "--state-dir", folder.url.appending(path: "state").path,
            ],
            log: folder.url.appending(path: "run.log"))
        defer { HiveHealthBinary.stopBlocking(process) }

        let shared = folder.url.appending(path: "shared")
        try write(Self.checks.replacingOccurrences(of: "3", with: "5"), "10-host.yaml", in: shared)
        let push = try await HiveHealthBinary.run(["catalog", "push", shared.path, "--config", config])
        #expect(push.status == 0, "\(push.stdout)\(push.stderr)")

        var catalogue: [String: Any]?
        let deadline = ContinuousClock.now.advanced(by: .seconds(45))
        while ContinuousClock.now < deadline, process.isRunning {
            let status = try await HiveHealthBinary.run(["status", "--config", config, "--format", "json"])
            catalogue = (try? jsonObject(status.stdout) as? [String: Any])?["catalogue"] as? [String: Any]
            if catalogue?["version"] as? Int == 1 { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        let log = (try? String(contentsOf: folder.url.appending(path: "run.log"), encoding: .utf8)) ?? ""
        #expect(catalogue?["source"] as? String == "shared", "daemon log:\n\(log.suffix(3000))")
        #expect(catalogue?["version"] as? Int == 1)
        #expect(log.contains("shared catalogue applied"))

        // catalog agents: the heartbeat says node-cli runs the current version.
        var agents: [[String: Any]] = []
        let agentsDeadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < agentsDeadline {
            let result = try await HiveHealthBinary.run(["catalog", "agents", "--config", config, "--format", "json"])
            agents = (try? jsonObject(result.stdout) as? [[String: Any]]) ?? []
            if result.status == 0, agents.first?["current"] as? Bool == true { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(agents.map { $0["node"] as? String } == ["node-cli"])
        #expect((agents.first?["catalogue"] as? [String: Any])?["version"] as? Int == 1)
        #expect(agents.first?["current"] as? Bool == true)
        #expect(await HiveHealthBinary.stop(process) == 0)
    }

    @Test("the site probe is in the binary's registry without any list edited")
    func siteProbeRegistered() async throws {
        let probes = try await HiveHealthBinary.run(["probes", "--format", "json"])
        #expect(probes.status == 0, "\(probes.stderr)")
        #expect(probes.stdout.contains("\"site.example\""))
    }
}

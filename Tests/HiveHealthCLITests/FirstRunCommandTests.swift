import Foundation
import HealthTestKit
import Testing

/// A first run as a new user meets it: `hive-health run` says where its API is, what it found and what to try; a
/// catalogue that does not load stops it (unless a last good copy exists) instead of running zero checks quietly.
@Suite("hive-health run: the first run", .serialized)
struct FirstRunCommandTests {
    /// A checks.d with one check that passes on every instance.
    static func writeGoodCatalogue(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(
            """
            checks:
              - name: first.true
                category: instance
                probe: exec
                target: instance
                interval: 2s
                params:
                  command: [/bin/true]
            """.utf8
        ).write(to: directory.appending(path: "10-first.yaml"))
    }

    /// Checks that pass on the node and on every volume, so every category of an instance with a volume has a
    /// verdict (and every status check metric a series).
    static func writeNodeAndVolumeChecks(_ directory: URL) throws {
        try Data(
            """
            checks:
              - name: second.node-true
                category: system
                probe: exec
                target: node
                interval: 2s
                params:
                  command: [/bin/true]
              - name: second.volume-true
                category: ebs
                probe: exec
                target: volume
                interval: 2s
                params:
                  command: [/bin/true]
            """.utf8
        ).write(to: directory.appending(path: "20-second.yaml"))
    }

    /// hive.toml for `node`, the API on `port`.
    static func writeConfig(_ file: URL, node: String, port: Int) throws {
        try Data(
            """
            node = "\(node)"
            [nodes.\(node)]
            region = "ap-southeast-2"
            az = "ap-southeast-2a"
            [health.api]
            listen = "127.0.0.1:\(port)"
            """.utf8
        ).write(to: file)
    }

    /// The daemon's output so far.
    static func output(_ log: URL) -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits for the startup block in `log` (it ends with the `try:` line).
    static func startupBlock(_ log: URL, process: Process) async throws -> String {
        _ = await eventually(timeout: .seconds(90), poll: .milliseconds(200)) {
            !process.isRunning || output(log).contains("  try:")
        }
        let text = output(log)
        guard let start = text.range(of: "hive-health is running on node") else {
            Issue.record("no startup block; the daemon printed:\n\(text.suffix(4000))")
            return ""
        }
        let block = text[start.lowerBound...]
        let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
        let end = lines.firstIndex { $0.hasPrefix("  try:") } ?? lines.index(before: lines.endIndex)
        return lines[...end].joined(separator: "\n")
    }

    /// The value of `  label: value` in `block`.
    static func value(_ label: String, in block: String) -> String? {
        for line in block.split(separator: "\n") where line.hasPrefix("  \(label):") {
            return line.dropFirst(label.count + 3).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    @Test("run prints where the API listens, the instances and checks it found, the state and an aws command that works")
    func startupBlockTellsWhatToTry() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let node = try SmallNode(in: folder, node: "node-first", instances: ["i-0f1", "i-0f2"])
        let (port, checks, inventory, state) = (node.port, node.checks, node.inventory, node.state)
        let log = folder.url.appending(path: "run.log")
        let process = try HiveHealthBinary.start(node.runArguments, log: log)
        defer { HiveHealthBinary.stopBlocking(process) }

        let block = try await Self.startupBlock(log, process: process)
        #expect(block.hasPrefix("hive-health is running on node node-first"), "\(block)")
        #expect(Self.value("api", in: block)?.hasPrefix("http://127.0.0.1:\(port)/") == true, "\(block)")
        #expect(Self.value("inventory", in: block) == "2 instances from file:\(inventory.path)", "\(block)")
        #expect(Self.value("catalogue", in: block) == "1 check from \(checks.path), environment none", "\(block)")
        #expect(Self.value("state", in: block) == state.path, "\(block)")
        #expect(Self.value("nats", in: block)?.hasPrefix("none") == true, "\(block)")
        let command = try #require(Self.value("try", in: block))
        #expect(command.contains("--region ap-southeast-2"), "\(command)")

        // The printed command, as a user pastes it into a shell, answers with both instances.
        var statuses: [[String: Any]] = []
        var last = CommandResult(status: -1, stdout: "", stderr: "")
        let answered = try await eventually(timeout: .seconds(60), poll: .milliseconds(300)) {
            last = try await Self.shell(command + " --output json", home: folder.url)
            let object = try? jsonObject(last.stdout) as? [String: Any]
            statuses = object?["InstanceStatuses"] as? [[String: Any]] ?? []
            return statuses.count == 2
        }
        #expect(answered, "aws: \(last.status) \(last.stdout) \(last.stderr)")
        #expect(Set(statuses.compactMap { $0["InstanceId"] as? String }) == ["i-0f1", "i-0f2"])
        // A clean catalogue is kept as the last good copy.
        let copy = state.appending(path: "catalogue.last-good/10-first.yaml")
        #expect(FileManager.default.fileExists(atPath: copy.path))
    }

    @Test("run on a catalogue that does not load, with no good copy to fall back on, prints every error and exits 78")
    func brokenCatalogueStopsRun() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let port = try APICommandTests.freePort()
        let checks = folder.url.appending(path: "checks.d")
        try FileManager.default.createDirectory(at: checks, withIntermediateDirectories: true)
        try Data("checks:\n  - name: typo\n    probe: exec\n    intervall: 5s\n".utf8)
            .write(to: checks.appending(path: "10-typo.yaml"))
        try Data("checks:\n  - name: unknown\n    probe: no.such.probe\n".utf8)
            .write(to: checks.appending(path: "20-unknown.yaml"))
        let config = folder.url.appending(path: "hive.toml")
        try Self.writeConfig(config, node: "node-broken", port: port)
        let result = try await HiveHealthBinary.run(
            [
                "run", "--config", config.path, "--checks", checks.path, "--inventory", "qemu-scan",
                "--state-dir", folder.url.appending(path: "state").path,
            ], timeout: .seconds(60))
        #expect(result.status == 78, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("10-typo.yaml:4:"), "\(result.stderr)")
        #expect(result.stderr.contains("intervall"), "\(result.stderr)")
        #expect(result.stderr.contains("20-unknown.yaml:3:"), "\(result.stderr)")
        #expect(result.stderr.contains("no.such.probe"), "\(result.stderr)")
        #expect(result.stderr.contains("no last good copy"), "\(result.stderr)")
        #expect(!result.stdout.contains("hive-health is running"), "\(result.stdout)")
    }

    @Test("run on a catalogue that does not load runs the last good copy of an earlier run and says so")
    func brokenCatalogueRunsLastGoodCopy() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let node = try SmallNode(in: folder, node: "node-again", instances: ["i-0f3"])
        let arguments = node.runArguments
        let firstLog = folder.url.appending(path: "first.log")
        let first = try HiveHealthBinary.start(arguments, log: firstLog)
        _ = try await Self.startupBlock(firstLog, process: first)
        #expect(await HiveHealthBinary.stop(first) == 0, "\(Self.output(firstLog).suffix(3000))")

        try Data("checks:\n  - name: first.true\n    probe: exec\n    target: instance\n    bogus: 1\n".utf8)
            .write(to: node.checks.appending(path: "10-first.yaml"))
        let secondLog = folder.url.appending(path: "second.log")
        let second = try HiveHealthBinary.start(arguments, log: secondLog)
        defer { HiveHealthBinary.stopBlocking(second) }
        let block = try await Self.startupBlock(secondLog, process: second)
        #expect(second.isRunning, "\(Self.output(secondLog).suffix(3000))")
        let catalogue = Self.value("catalogue", in: block) ?? ""
        #expect(catalogue.hasPrefix("1 check from the last good copy "), "\(block)")
        #expect(catalogue.contains("catalogue.last-good"), "\(block)")
        #expect(Self.output(secondLog).contains("10-first.yaml:5:"), "\(Self.output(secondLog).suffix(3000))")
    }

    /// Runs `command` with bash (as pasted into a shell), the aws CLI's files under `home`.
    static func shell(_ command: String, home: URL) async throws -> CommandResult {
        let current = ProcessInfo.processInfo.environment
        let environment = [
            "PATH": current["PATH"] ?? "/usr/bin:/bin", "HOME": home.path,
            "PYENV_ROOT": current["PYENV_ROOT"] ?? ((current["HOME"] ?? "/root") + "/.pyenv"),
            "AWS_CONFIG_FILE": home.appending(path: "aws-config").path,
            "AWS_SHARED_CREDENTIALS_FILE": home.appending(path: "aws-credentials").path,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
        ]
        return try await ChildCommand.run(["/bin/bash", "-c", command], environment: environment, timeout: .seconds(60))
    }
}

/// A small node for `hive-health run`: one check passing on every instance (`exec /bin/true`), the instances in a
/// VM JSON file, hive.toml with a region and the API on a free loopback port, a state folder.
struct SmallNode {
    let port: Int
    let checks: URL
    let inventory: URL
    let config: URL
    let state: URL

    /// With `everyCategory`, a passing check of each category and a volume on each instance.
    init(in folder: TemporaryFolder, node: String, instances: [String], everyCategory: Bool = false) throws {
        port = try APICommandTests.freePort()
        checks = folder.url.appending(path: "checks.d")
        try FirstRunCommandTests.writeGoodCatalogue(checks)
        if everyCategory { try FirstRunCommandTests.writeNodeAndVolumeChecks(checks) }
        inventory = folder.url.appending(path: "instances.json")
        let volume = { (id: String) in
            everyCategory
                ? #", "ebs_requests": {"Requests": [{"Name": "vol-\#(id.dropFirst(2))", "DeviceName": "/dev/vdb", "#
                    + #""NBDURI": "nbd+unix:///?socket=/nonexistent"}]}"# : ""
        }
        let vms = instances.map { #""\#($0)": {"id": "\#($0)", "status": "running"\#(volume($0))}"# }
            .joined(separator: ", ")
        try Data(#"{"vms": {\#(vms)}}"#.utf8).write(to: inventory)
        config = folder.url.appending(path: "hive.toml")
        try FirstRunCommandTests.writeConfig(config, node: node, port: port)
        state = folder.url.appending(path: "state")
    }

    /// `run` on this node.
    var runArguments: [String] {
        [
            "run", "--config", config.path, "--checks", checks.path, "--inventory", "file:\(inventory.path)",
            "--state-dir", state.path,
        ]
    }
}

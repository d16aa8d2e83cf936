import Foundation
import HealthCore
import HealthProbes
import ProbeKit
import Testing

@Suite("exec")
struct ExecProbeTests {
    static func observe(_ tree: FixtureTree, _ parameters: [String: ParameterValue]) async -> Observation {
        await ExecProbe(environment: tree.environment).observe(makeRequest(parameters))
    }

    @Test("exit 0 passes with the first line's text as message and perfdata in base units as values")
    func passes() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let script = try tree.script(
            "ok.sh",
            """
            echo "DISK OK - free space: / 3326 MB (56%) | '/ used'=2643MB;5948;5958;0;5968 time=12.5ms;;; load=0.5"
            echo "long text line"
            """)
        let observation = await Self.observe(tree, ["command": .stringList([script])])
        #expect(observation.outcome == .passed)
        #expect(observation.message == "DISK OK - free space: / 3326 MB (56%)")
        #expect(observation.values["/ used"] == Double(2643 * 1024 * 1024))
        #expect(observation.values["time"] == 0.0125)
        #expect(observation.values["load"] == 0.5)
    }

    @Test("exit 1 and 2 fail, 3 is unknown, anything else is unknown saying the status")
    func exitCodes() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        for (code, outcome) in [(1, Observation.Outcome.failed), (2, .failed), (3, .unknown), (7, .unknown)] {
            let script = try tree.script("exit\(code).sh", "echo \"STATUS \(code)\"\nexit \(code)")
            let observation = await Self.observe(tree, ["command": .stringList([script])])
            #expect(observation.outcome == outcome, "exit \(code): \(observation.message)")
            #expect(observation.message.contains("STATUS \(code)"))
            if code == 7 { #expect(observation.message.contains("unexpected status 7")) }
        }
    }

    @Test("death by a signal is unknown and says so")
    func signaled() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let script = try tree.script("kill.sh", "kill -9 $$")
        let observation = await Self.observe(tree, ["command": .stringList([script])])
        #expect(observation.outcome == .unknown)
        #expect(observation.message.contains("signal 9"))
    }

    @Test("argv[0] is looked up in PATH, arguments pass without a shell, env is added")
    func pathAndEnvironment() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let script = try tree.script("args.sh", "echo \"arg=$1 site=$SITE\"")
        let observation = await Self.observe(
            tree, ["command": .stringList(["sh", script, "a b; $(x)"]), "env": .stringMap(["SITE": "syd"])])
        #expect(observation.outcome == .passed)
        #expect(observation.message == "arg=a b; $(x) site=syd")
    }

    @Test("output beyond max_output is cut and the message says so")
    func outputLimit() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let script = try tree.script(
            "big.sh",
            "echo 'BIG OK'\ni=0\nwhile [ $i -lt 2000 ]; do echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxx'; i=$((i+1)); done")
        let observation = await Self.observe(tree, ["command": .stringList([script]), "max_output": .integer(100)])
        #expect(observation.outcome == .passed)
        #expect(observation.message.hasPrefix("BIG OK"))
        #expect(observation.message.contains("output cut at 100"))
    }

    @Test("a missing command, an empty argv or a relative path is unknown")
    func cannotRun() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let missing = await Self.observe(tree, ["command": .stringList(["no-such-plugin-\(UUID().uuidString)"])])
        #expect(missing.outcome == .unknown)
        #expect(missing.message.contains("not found"))
        let absent = await Self.observe(tree, ["command": .stringList([tree.path("absent.sh")])])
        #expect(absent.outcome == .unknown)
        #expect(await Self.observe(tree, ["command": .stringList([])]).outcome == .unknown)
        #expect(await Self.observe(tree, [:]).outcome == .unknown)
        #expect(await Self.observe(tree, ["command": .stringList(["./check.sh"])]).outcome == .unknown)
    }

    @Test("no output still gives a message; standard error stands in for a missing standard output")
    func silent() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let script = try tree.script("silent.sh", "exit 2")
        let observation = await Self.observe(tree, ["command": .stringList([script])])
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("no output"))

        let complaining = try tree.script("stderr.sh", "echo 'cannot connect to socket' >&2\nexit 3")
        let unknown = await Self.observe(tree, ["command": .stringList([complaining])])
        #expect(unknown.outcome == .unknown)
        #expect(unknown.message == "stderr: cannot connect to socket")
    }

    @Test("a plugin that leaves a background child holding its output still finishes when it exits")
    func backgroundChild() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let script = try tree.script(
            "leaky.sh", "sleep 600 &\necho $! > \(tree.path("child.pid"))\necho 'LEAKY OK | x=1'\nexit 0")
        let observation = await Self.observe(tree, ["command": .stringList([script])])
        let childText = try? String(contentsOfFile: tree.path("child.pid"), encoding: .utf8)
        let childPid = childText.flatMap { Int32($0.trimmed) }
        if let childPid { kill(childPid, SIGKILL) }
        #expect(observation.outcome == .passed, "\(observation.message)")
        #expect(observation.message == "LEAKY OK")
        #expect(observation.values["x"] == 1)
    }

    @Test("cancelling the run stops the plugin and its children")
    func cancellation() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let script = try tree.script(
            "hang.sh", "sleep 600 &\necho $! > \(tree.path("child.pid"))\necho $$ > \(tree.path("plugin.pid"))\nwait")
        let probe = ExecProbe(environment: tree.environment)
        let request = makeRequest(["command": .stringList([script])])
        let task = Task { await probe.observe(request) }
        let started = await eventually {
            (try? String(contentsOfFile: tree.path("child.pid"), encoding: .utf8))?.hasSuffix("\n") == true
                && (try? String(contentsOfFile: tree.path("plugin.pid"), encoding: .utf8))?.hasSuffix("\n") == true
        }
        try #require(started)
        let child = try #require(Int32(try String(contentsOfFile: tree.path("child.pid"), encoding: .utf8).trimmed))
        let plugin = try #require(Int32(try String(contentsOfFile: tree.path("plugin.pid"), encoding: .utf8).trimmed))
        #expect(isRunning(child))
        task.cancel()
        let observation = await task.value
        #expect(observation.outcome == .unknown)
        #expect(observation.message.contains("cancelled"))
        #expect(await eventually { !isRunning(plugin) && !isRunning(child) })
    }
}

/// True while `pid` exists and is not a zombie (a reparented child may wait as a zombie for a reaper).
func isRunning(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(after: close)...].trimmed.first
    return state != "Z" && state != "X"
}

extension StringProtocol {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

import Foundation
import HealthCore
import HealthProbes
import Testing

@Suite("qemu.process")
struct QEMUProcessProbeTests {
    /// Starts `/bin/sleep 600`, writes its pid file, and returns the process (killed by the caller by pid).
    static func startSleeper(pidFile: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["600"]
        try process.run()
        try "\(process.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        return process
    }

    static func stop(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    @Test("a live process whose name matches expect_comm passes, with rss and thread values")
    func liveProcess() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let pidFile = tree.path("i-1.pid")
        let sleeper = try Self.startSleeper(pidFile: pidFile)
        defer { Self.stop(sleeper) }
        let probe = QEMUProcessProbe(environment: ProbeEnvironment(hostRoot: "/", runtimeDirectory: tree.root))
        let request = makeRequest(target: instanceTarget(pidFile: pidFile), ["expect_comm": .string("sleep")])
        let first = await probe.observe(request)
        #expect(first.outcome == .passed, "\(first.message)")
        #expect((first.values["rss_bytes"] ?? 0) > 0)
        #expect(first.values["threads"] == 1)
        let second = await probe.observe(request)
        #expect(second.outcome == .passed, "\(second.message)")
        #expect(second.values["cpu_percent"] != nil)
    }

    @Test("the default pid_file template is filled from the instance when the engine did not apply it")
    func defaultPidFile() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let pidFile = tree.path("i-2.pid")
        let sleeper = try Self.startSleeper(pidFile: pidFile)
        defer { Self.stop(sleeper) }
        let probe = QEMUProcessProbe(environment: ProbeEnvironment(hostRoot: "/", runtimeDirectory: tree.root))
        let observation = await probe.observe(makeRequest(target: instanceTarget(pidFile: pidFile)))
        // Default expect_comm is qemu-system*: a sleep process is not QEMU.
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("'sleep'"))
        #expect(observation.message.contains("qemu-system*"))
    }

    @Test("an empty expect_comm disables the name check")
    func commCheckDisabled() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let pidFile = tree.path("i-3.pid")
        let sleeper = try Self.startSleeper(pidFile: pidFile)
        defer { Self.stop(sleeper) }
        let probe = QEMUProcessProbe(environment: ProbeEnvironment(hostRoot: "/", runtimeDirectory: tree.root))
        let observation = await probe.observe(
            makeRequest(target: instanceTarget(pidFile: pidFile), ["expect_comm": .string("")]))
        #expect(observation.outcome == .passed, "\(observation.message)")
    }

    @Test("a missing, empty or garbage pid file fails and says which")
    func badPidFiles() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let probe = QEMUProcessProbe(environment: tree.environment)
        let missing = await probe.observe(makeRequest(target: instanceTarget(pidFile: tree.path("none.pid"))))
        #expect(missing.outcome == .failed)
        #expect(missing.message.contains("none.pid missing"))

        try tree.write("empty.pid", "\n")
        let empty = await probe.observe(makeRequest(target: instanceTarget(pidFile: tree.path("empty.pid"))))
        #expect(empty.outcome == .failed)
        #expect(empty.message.contains("is empty"))

        try tree.write("garbage.pid", "pid=12x\n")
        let garbage = await probe.observe(makeRequest(target: instanceTarget(pidFile: "garbage.pid")))
        #expect(garbage.outcome == .failed)
        #expect(garbage.message.contains("garbage"))
    }

    @Test("a pid with no /proc entry is a process gone")
    func processGone() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/1/stat", statLine(pid: 1, comm: "init"))
        try tree.write("i.pid", "4242\n")
        let observation = await QEMUProcessProbe(environment: tree.environment).observe(
            makeRequest(target: instanceTarget(pidFile: tree.path("i.pid"))))
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("4242"))
        #expect(observation.message.contains("gone"))
    }

    @Test("a zombie fails, reading the state after the last ')' of a comm with spaces and parentheses")
    func zombie() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/4242/stat", statLine(pid: 4242, comm: "qemu (a) S b", state: "Z"))
        try tree.write("i.pid", "4242\n")
        let observation = await QEMUProcessProbe(environment: tree.environment).observe(
            makeRequest(target: instanceTarget(pidFile: tree.path("i.pid"))))
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("zombie"))
    }

    @Test("argv[0]'s basename can satisfy expect_comm when comm is truncated")
    func argv0Match() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/4242/stat", statLine(pid: 4242, comm: "CPU 0/KVM"))
        try tree.write("proc/4242/comm", "CPU 0/KVM\n")
        try tree.write("proc/4242/cmdline", "/usr/bin/qemu-system-x86_64\u{0}-name\u{0}i-1\u{0}")
        try tree.write("i.pid", "4242")
        let observation = await QEMUProcessProbe(environment: tree.environment).observe(
            makeRequest(target: instanceTarget(pidFile: tree.path("i.pid"))))
        #expect(observation.outcome == .passed, "\(observation.message)")
    }

    @Test("D state fails only once it has lasted longer than max_uninterruptible across runs")
    func uninterruptible() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/4242/stat", statLine(pid: 4242, state: "D"))
        try tree.write("i.pid", "4242")
        let clock = ManualInstant()
        let probe = QEMUProcessProbe(environment: tree.environment, now: { clock.now() })
        let request = makeRequest(
            target: instanceTarget(pidFile: tree.path("i.pid")), ["max_uninterruptible": .duration(.seconds(30))])
        #expect(await probe.observe(request).outcome == .passed)
        clock.advance(by: .seconds(20))
        #expect(await probe.observe(request).outcome == .passed)
        clock.advance(by: .seconds(15))
        let stuck = await probe.observe(request)
        #expect(stuck.outcome == .failed)
        #expect(stuck.message.contains("uninterruptible"))
        #expect(stuck.message.contains("35s"))

        // Leaving D state resets the streak.
        try tree.write("proc/4242/stat", statLine(pid: 4242, state: "S"))
        clock.advance(by: .seconds(10))
        #expect(await probe.observe(request).outcome == .passed)
        try tree.write("proc/4242/stat", statLine(pid: 4242, state: "D"))
        clock.advance(by: .seconds(10))
        #expect(await probe.observe(request).outcome == .passed)
    }

    @Test("CPU runaway fails after runaway_runs runs in a row above max_cpu_percent")
    func cpuRunaway() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        try tree.write("i.pid", "4242")
        let clock = ManualInstant()
        let probe = QEMUProcessProbe(environment: tree.environment, now: { clock.now() })
        let request = makeRequest(
            target: instanceTarget(pidFile: tree.path("i.pid")),
            ["max_cpu_percent": .number(150), "runaway_runs": .integer(2)])
        var utime: UInt64 = 1000
        // Each step: 10 s of wall time and `percent`% of one core.
        func step(_ percent: Double) async throws -> Observation {
            utime += UInt64(percent / 100 * 10 * ticks)
            try tree.write("proc/4242/stat", statLine(pid: 4242, utime: utime, stime: 0))
            clock.advance(by: .seconds(10))
            return await probe.observe(request)
        }
        try tree.write("proc/4242/stat", statLine(pid: 4242, utime: utime, stime: 0))
        #expect(await probe.observe(request).outcome == .passed)
        let busy = try await step(200)
        #expect(busy.outcome == .passed)
        #expect(abs((busy.values["cpu_percent"] ?? 0) - 200) < 1)
        #expect(try await step(100).outcome == .passed)
        #expect(try await step(200).outcome == .passed)
        let runaway = try await step(300)
        #expect(runaway.outcome == .failed)
        #expect(runaway.message.contains("runaway"))

        // A restarted process (new start time) starts a new history.
        try tree.write("proc/4242/stat", statLine(pid: 4242, utime: 5, stime: 0, startTime: 99999))
        clock.advance(by: .seconds(10))
        let restarted = await probe.observe(request)
        #expect(restarted.outcome == .passed)
        #expect(restarted.values["cpu_percent"] == nil)
    }

    @Test("no pid file known, a garbage stat file and bad parameters are unknown")
    func unknowns() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let probe = QEMUProcessProbe(environment: tree.environment)
        let noPidFile = await probe.observe(makeRequest(target: instanceTarget(pidFile: "")))
        #expect(noPidFile.outcome == .unknown)

        try tree.write("proc/4242/stat", "4242 (qemu) garbage\n")
        try tree.write("i.pid", "4242")
        let garbage = await probe.observe(makeRequest(target: instanceTarget(pidFile: tree.path("i.pid"))))
        #expect(garbage.outcome == .unknown)
        #expect(garbage.message.contains("proc/4242/stat"))

        let badParameter = await probe.observe(
            makeRequest(target: instanceTarget(pidFile: tree.path("i.pid")), ["runaway_runs": .integer(0)]))
        #expect(badParameter.outcome == .unknown)
        #expect(badParameter.message.contains("runaway_runs"))
    }
}

#if canImport(Glibc)
import Glibc
import ProbeKit
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import HealthCore

/// `qemu.process`: the instance's QEMU process (found through its pid file) is alive, is QEMU, is not a zombie,
/// is not stuck in uninterruptible sleep, and is not burning CPU run after run.
public struct QEMUProcessProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "qemu.process", category: .instance, targets: [.instance],
        parameters: [
            ParameterSpec(
                "pid_file", .string, default: .string("{{instance.pid_file}}"),
                doc: "The QEMU pid file; a relative path is taken under the runtime directory."),
            ParameterSpec(
                "expect_comm", .string, default: .string("qemu-system*"),
                doc: "Glob the process name (/proc/<pid>/comm) or the basename of argv[0] must match; empty "
                    + "disables the check."),
            ParameterSpec(
                "max_uninterruptible", .duration, default: .duration(.seconds(30)),
                doc: "Failed when the process has been in D state (uninterruptible sleep) in every run for longer "
                    + "than this."),
            ParameterSpec(
                "max_cpu_percent", .number, range: 0...1_000_000,
                doc: "CPU runaway: failed when CPU use since the previous run (100 = one core) is above this for "
                    + "runaway_runs runs in a row (unset: no runaway check)."),
            ParameterSpec(
                "runaway_runs", .integer, default: .integer(3), range: 1...10000,
                doc: "How many runs in a row above max_cpu_percent make a runaway."),
        ],
        summary: "QEMU pid alive, not a zombie, not stuck in D state, no CPU runaway")

    /// What is remembered of one instance's process between runs.
    private struct Sample: Sendable {
        var pid: Int
        var startTime: UInt64
        var cpuTicks: UInt64
        var at: ContinuousClock.Instant
        var uninterruptibleSince: ContinuousClock.Instant?
        var runsOverCPU: Int
    }

    public let environment: ProbeEnvironment
    private let now: @Sendable () -> ContinuousClock.Instant
    private let memory = PerCheckMemory<Sample>()
    private let ticksPerSecond: Double
    private let pageSize: Int64

    public init(environment: ProbeEnvironment) {
        self.init(environment: environment, now: { ContinuousClock.now })
    }

    /// Creates the probe with a clock of its own, so tests can measure D-state and CPU time across runs.
    public init(environment: ProbeEnvironment, now: @escaping @Sendable () -> ContinuousClock.Instant) {
        self.environment = environment
        self.now = now
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        self.ticksPerSecond = ticks > 0 ? Double(ticks) : 100
        let page = sysconf(Int32(_SC_PAGESIZE))
        self.pageSize = page > 0 ? Int64(page) : 4096
    }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (
        pidFileParameter: String, expectComm: String, maxUninterruptible: Duration, maxCPU: Double?, runawayRuns: Int
    )

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (pidFileParameter, expectComm, maxUninterruptible, maxCPU, runawayRuns) = settings
        guard !pidFileParameter.trimmed.isEmpty else {
            return .unknown("no pid file known for \(request.target.kind.rawValue) \(request.target.id)")
        }
        let pidFile =
            pidFileParameter.hasPrefix("/") ? pidFileParameter : environment.runtimeDirectory + "/" + pidFileParameter

        let pid: Int
        switch readPID(pidFile) {
        case .success(let value): pid = value
        case .failure(let problem): return problem.observation
        }

        let statPath = environment.hostPath("/proc/\(pid)/stat")
        let stat: ProcessStat
        switch HostFile.text(statPath, limit: 65536) {
        case .failure(let error) where error.code == .missing:
            forget(request.stateKey)
            return .failed("process \(pid) (from pid file \(pidFile)) is gone")
        case .failure(let error):
            return .unknown("cannot read \(error)")
        case .success(let text):
            do { stat = try ProcessStat(parsing: text, path: statPath) } catch { return .unknown("\(error)") }
        }
        guard stat.pid == pid else {
            return .unknown("\(statPath): describes pid \(stat.pid), not \(pid)")
        }
        let values: [String: Double] = [
            "rss_bytes": Double(max(0, stat.rssPages)) * Double(pageSize),
            "threads": Double(stat.threads),
        ]
        if stat.state == "Z" || stat.state == "X" {
            forget(request.stateKey)
            return .failed("process \(pid) (\(stat.comm)) is a zombie (state \(stat.state))", values: values)
        }
        if !expectComm.isEmpty, let mismatch = commMismatch(pid: pid, stat: stat, expect: expectComm) {
            return .failed(mismatch, values: values)
        }
        return judge(
            stat: stat, values: values, key: request.stateKey, maxUninterruptible: maxUninterruptible,
            maxCPU: maxCPU, runawayRuns: runawayRuns)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let pidFileParameter = try parameters.string("pid_file") ?? ""
        let expectComm = try parameters.string("expect_comm") ?? "qemu-system*"
        let maxUninterruptible = try parameters.duration("max_uninterruptible") ?? .seconds(30)
        let maxCPU = try parameters.number("max_cpu_percent")
        let runawayRuns = try parameters.integer("runaway_runs") ?? 3
        return (pidFileParameter, expectComm, maxUninterruptible, maxCPU, runawayRuns)
    }

    private func judge(
        stat: ProcessStat, values: [String: Double], key: String, maxUninterruptible: Duration, maxCPU: Double?,
        runawayRuns: Int
    ) -> Observation {
        var values = values
        let instant = now()
        let ticks = stat.utime &+ stat.stime
        let (cpuPercent, uninterruptibleFor, runsOver) = memory.update(key, now: instant) {
            stored -> (Double?, Duration?, Int) in
            var sample = stored.flatMap { $0.pid == stat.pid && $0.startTime == stat.startTime ? $0 : nil }
            var cpuPercent: Double?
            if let previous = sample, instant > previous.at, ticks >= previous.cpuTicks {
                let elapsed = (instant - previous.at).seconds
                cpuPercent = Double(ticks - previous.cpuTicks) / ticksPerSecond / elapsed * 100
            }
            var runsOver = sample?.runsOverCPU ?? 0
            if let maxCPU, let cpuPercent {
                runsOver = cpuPercent > maxCPU ? runsOver + 1 : 0
            }
            var since: ContinuousClock.Instant?
            if stat.state == "D" { since = sample?.uninterruptibleSince ?? instant }
            sample = Sample(
                pid: stat.pid, startTime: stat.startTime, cpuTicks: ticks, at: instant, uninterruptibleSince: since,
                runsOverCPU: runsOver)
            stored = sample
            return (cpuPercent, since.map { instant - $0 }, runsOver)
        }
        if let cpuPercent { values["cpu_percent"] = cpuPercent }
        let cpuText = cpuPercent.map { ", CPU \(ReadableUnits.decimal($0, places: 1))%" } ?? ""
        let description =
            "process \(stat.pid) (\(stat.comm)) state \(stat.state)\(cpuText), "
            + "RSS \(ReadableUnits.bytes(values["rss_bytes"] ?? 0)), \(stat.threads) threads"
        var problems: [String] = []
        if let uninterruptibleFor, uninterruptibleFor > maxUninterruptible {
            problems.append(
                "process \(stat.pid) (\(stat.comm)) stuck in uninterruptible sleep (D) for "
                    + "\(HealthDuration.format(rounded(uninterruptibleFor))) "
                    + "(max \(HealthDuration.format(maxUninterruptible)))")
        }
        if let maxCPU, runsOver >= runawayRuns {
            problems.append(
                "CPU runaway: process \(stat.pid) (\(stat.comm)) above \(ReadableUnits.decimal(maxCPU, places: 1))% "
                    + "CPU for \(runsOver) runs in a row (now \(ReadableUnits.decimal(cpuPercent ?? 0, places: 1))%)")
        }
        if problems.isEmpty { return .passed(description, values: values) }
        return .failed(problems.joined(separator: "; "), values: values)
    }

    private func rounded(_ duration: Duration) -> Duration {
        .milliseconds(duration.nanoseconds / 1_000_000)
    }

    private func forget(_ key: String) {
        memory.update(key, now: now()) { $0 = nil }
    }

    private struct PIDProblem: Error {
        var observation: Observation
    }

    private func readPID(_ pidFile: String) -> Result<Int, PIDProblem> {
        switch HostFile.text(pidFile, limit: 4096) {
        case .failure(let error):
            switch error.code {
            case .missing: return .failure(PIDProblem(observation: .failed("pid file \(pidFile) missing")))
            case .tooLarge, .notText:
                return .failure(PIDProblem(observation: .failed("pid file \(pidFile) holds garbage (\(error))")))
            default: return .failure(PIDProblem(observation: .unknown("cannot read pid file \(error)")))
            }
        case .success(let text):
            let content = text.trimmed
            guard !content.isEmpty else {
                return .failure(PIDProblem(observation: .failed("pid file \(pidFile) is empty")))
            }
            guard let pid = Int(content), pid > 0, pid <= 1 << 22 else {
                return .failure(
                    PIDProblem(observation: .failed("pid file \(pidFile) holds garbage: '\(content.prefix(40))'")))
            }
            return .success(pid)
        }
    }

    /// Nil when `/proc/<pid>/comm` or argv[0]'s basename matches `expect`, else why not.
    private func commMismatch(pid: Int, stat: ProcessStat, expect: String) -> String? {
        let comm = (try? HostFile.text(environment.hostPath("/proc/\(pid)/comm"), limit: 4096).get())?.trimmed
            ?? stat.comm
        if Glob.matches(expect, comm) { return nil }
        var argv0 = ""
        if let cmdline = try? HostFile.bytes(environment.hostPath("/proc/\(pid)/cmdline"), limit: 65536).get() {
            let first = cmdline.prefix { $0 != 0 }
            argv0 = String(decoding: first, as: UTF8.self)
            let base = argv0.split(separator: "/").last.map(String.init) ?? argv0
            if !base.isEmpty, Glob.matches(expect, base) { return nil }
        }
        let argvText = argv0.isEmpty ? "" : ", argv[0] '\(argv0.prefix(80))'"
        return "process \(pid) is '\(comm)'\(argvText), not '\(expect)': the pid file points at another process"
    }
}

import Foundation
import HealthCore
import HealthQEMU
import ProbeKit

/// `guest.resources`: guest memory from the balloon device's statistics (QMP `qom-get guest-stats`, polling switched
/// on when it is off) and filesystem fullness from the guest agent (`guest-get-fsinfo`). Frozen guest filesystems
/// (`guest-fsfreeze-status`, a snapshot in progress) are a suppression window.
public struct GuestResourcesProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "guest.resources", category: .instance, targets: [.instance],
        parameters: [
            QMPProbeSupport.socketParameter,
            ParameterSpec(
                "agent_socket", .string, default: .string("{{instance.guest_agent_socket}}"),
                doc: "The guest agent's chardev socket (filesystems); empty skips the filesystem check."),
            ParameterSpec(
                "balloon_path", .string, default: .string("/machine/peripheral/balloon0"),
                doc: "QOM path of the virtio-balloon device (-device virtio-balloon,id=balloon0); empty skips memory."),
            ParameterSpec(
                "stats_polling_interval", .integer, default: .integer(10), range: 1...3600,
                doc: "Seconds between balloon statistics updates, set on the device when polling is off."),
            ParameterSpec(
                "min_available_memory_percent", .number, default: .number(5), range: 0...100,
                doc: "Failed when the guest's available memory is below this percent of its total."),
            ParameterSpec(
                "max_filesystem_percent", .number, default: .number(95), range: 0...100,
                doc: "Failed when a guest filesystem is fuller than this percent."),
            ParameterSpec(
                "ignore_types", .stringList,
                default: .stringList(["tmpfs", "devtmpfs", "squashfs", "iso9660", "overlay", "ramfs"]),
                doc: "Filesystem types not checked for fullness."),
        ],
        timeoutClass: .qmp,
        summary: "guest memory (balloon stats) and filesystem fullness (guest agent fsinfo)")

    public let environment: ProbeEnvironment
    /// The daemon's QMP connections (a test's own through ``ProbeKit/ProbeEnvironment/withQMPConnections(_:)``).
    private var pool: QMPConnectionPool { environment.qmpConnections }

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public struct Settings {
        var socket: String
        var agentSocket: String
        var balloonPath: String
        var pollingInterval: Int
        var minAvailable: Double
        var maxFilesystem: Double
        var ignoreTypes: Set<String>
    }

    /// One part's verdict: problems (failures), notes (what could not be looked at), values.
    private struct Findings {
        var problems: [String] = []
        var notes: [String] = []
        var passed: [String] = []
        var values: [String: Double] = [:]
        var suppressed: String?
    }

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let budget = QMPProbeSupport.budget(request)
        var findings = Findings()
        await filesystems(settings, budget: budget, request: request, into: &findings)
        if let suppressed = findings.suppressed {
            return .unknown("suppressed (\(suppressed))", values: findings.values)
        }
        await memory(settings, budget: budget, request: request, into: &findings)
        if !findings.problems.isEmpty {
            return .failed(findings.problems.joined(separator: "; "), values: findings.values)
        }
        if findings.passed.isEmpty {
            return .unknown(
                findings.notes.isEmpty ? "nothing to look at" : findings.notes.joined(separator: "; "),
                values: findings.values)
        }
        return .passed((findings.passed + findings.notes).joined(separator: "; "), values: findings.values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        func path(_ name: String) throws(ParameterProblem) -> String {
            let text = (try parameters.string(name) ?? "").trimmed
            if text.isEmpty || text.hasPrefix("/") { return text }
            return environment.runtimeDirectory + "/" + text
        }
        return Settings(
            socket: try path("socket"), agentSocket: try path("agent_socket"),
            balloonPath: try parameters.string("balloon_path") ?? "",
            pollingInterval: try parameters.integer("stats_polling_interval") ?? 10,
            minAvailable: try parameters.number("min_available_memory_percent") ?? 5,
            maxFilesystem: try parameters.number("max_filesystem_percent") ?? 95,
            ignoreTypes: Set(try parameters.stringList("ignore_types") ?? []))
    }

    private func memory(_ settings: Settings, budget: Duration, request: ProbeRequest, into findings: inout Findings)
        async
    {
        guard !settings.socket.isEmpty, !settings.balloonPath.isEmpty else { return }
        let arguments: [String: QMPValue] = [
            "path": .string(settings.balloonPath), "property": .string("guest-stats"),
        ]
        do throws(QEMUError) {
            let stats = try await pool.withConnection(
                to: settings.socket, timeout: budget, logger: request.logger
            ) { connection throws(QEMUError) -> QMPValue in
                try await connection.execute("qom-get", arguments: arguments, timeout: budget)
            }
            // QEMU reports a figure it does not have as -1 or as 2^64 - 1.
            func figure(_ name: String) -> Double {
                guard let value = stats["stats"]?[name]?.number, value >= 0, value < 9e18 else { return -1 }
                return value
            }
            let lastUpdate = stats["last-update"]?.number ?? 0
            let total = figure("stat-total-memory")
            let available = figure("stat-available-memory")
            let free = figure("stat-free-memory")
            // A guest's driver hands QEMU one set of statistics when it starts: a last-update long past means
            // nobody polls (the interval is 0), and the figures would never change.
            let age = Date().timeIntervalSince1970 - lastUpdate
            guard lastUpdate > 0, total > 0, age <= Double(max(settings.pollingInterval, 10) * 3) else {
                let polling: [String: QMPValue] = [
                    "path": .string(settings.balloonPath), "property": .string("guest-stats-polling-interval"),
                    "value": .number(Double(settings.pollingInterval)),
                ]
                _ = try await pool.withConnection(to: settings.socket, timeout: budget, logger: request.logger) {
                    connection throws(QEMUError) -> QMPValue in
                    try await connection.execute("qom-set", arguments: polling, timeout: budget)
                }
                findings.notes.append("balloon statistics polling switched on, no fresh data yet")
                return
            }
            let usable = available >= 0 ? available : free
            guard usable >= 0 else {
                findings.notes.append("the balloon reports no available or free memory figure")
                return
            }
            let percent = usable / total * 100
            findings.values["memory_available_percent"] = percent
            findings.values["memory_available_bytes"] = usable
            let text =
                "guest memory available \(ReadableUnits.decimal(percent, places: 1))% of "
                + ReadableUnits.bytes(total)
            if percent < settings.minAvailable {
                findings.problems.append(
                    "memory exhaustion: \(text) (min \(ReadableUnits.decimal(settings.minAvailable, places: 1))%)")
            } else {
                findings.passed.append(text)
            }
        } catch {
            if error.code == .commandFailed {
                findings.notes.append("no balloon statistics (\(error.message.prefix(120)))")
            } else {
                findings.notes.append("QMP: \(error.message)")
            }
        }
    }

    private func filesystems(
        _ settings: Settings, budget: Duration, request: ProbeRequest, into findings: inout Findings
    ) async {
        guard !settings.agentSocket.isEmpty else { return }
        let session: GuestAgentSession
        do throws(QEMUError) {
            session = try GuestAgentSession.open(path: settings.agentSocket, logger: request.logger)
        } catch {
            findings.notes.append("guest agent: \(error.message)")
            return
        }
        defer { session.close() }
        do throws(QEMUError) {
            try await session.synchronize(timeout: budget)
            if let freeze = try? await session.execute("guest-fsfreeze-status", timeout: budget),
                freeze.string == "frozen"
            {
                findings.suppressed = "guest filesystems frozen"
                return
            }
            let fsinfo = try await session.execute("guest-get-fsinfo", timeout: budget)
            var checked = 0
            var fullest = 0.0
            for filesystem in (fsinfo.array ?? []).prefix(1000) {
                let type = filesystem["type"]?.string ?? ""
                guard !settings.ignoreTypes.contains(type), let used = filesystem["used-bytes"]?.number,
                    let total = filesystem["total-bytes"]?.number, total > 0
                else { continue }
                checked += 1
                let percent = used / total * 100
                fullest = max(fullest, percent)
                if percent > settings.maxFilesystem {
                    let mountpoint = String((filesystem["mountpoint"]?.string ?? "?").prefix(120))
                    findings.problems.append(
                        "filesystem \(mountpoint) (\(type)) \(ReadableUnits.decimal(percent, places: 1))% full "
                            + "(max \(ReadableUnits.decimal(settings.maxFilesystem, places: 1))%)")
                }
            }
            findings.values["filesystems"] = Double(checked)
            findings.values["filesystem_fullest_percent"] = fullest
            findings.passed.append(
                "\(checked) guest filesystems, fullest \(ReadableUnits.decimal(fullest, places: 1))%")
        } catch {
            findings.notes.append("guest agent: \(error.message)")
        }
    }
}

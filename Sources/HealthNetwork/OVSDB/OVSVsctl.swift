import HealthCore
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The fallback when the database socket cannot be reached: one `ovs-vsctl --format=json list` per table, read into
/// the same ``OVSTables`` the monitor keeps. Output is bounded (`maxOutputBytes`); a non-zero exit is an error.
public enum OVSVsctl {
    /// ``tables(database:timeout:executable:maxOutputBytes:)`` shared by every check for `maxAge`: during an
    /// OVSDB outage a thousand ports cost one set of ovs-vsctl runs, not a thousand.
    public static func sharedTables(database: String?, timeout: Duration, maxAge: Duration = .seconds(2)) async
        -> Result<OVSTables, NetworkError>
    {
        await OVSVsctlRuns.shared.tables(database: database, timeout: timeout, maxAge: maxAge)
    }

    /// Reads the Interface, Port and Bridge tables. `database` is an OVSDB remote (`unix:/path`) or nil for
    /// ovs-vsctl's own default; `timeout` bounds each invocation (`--timeout`, whole seconds, at least 1).
    public static func tables(
        database: String?, timeout: Duration, executable: String = "ovs-vsctl", maxOutputBytes: Int = 32 << 20
    ) async -> Result<OVSTables, NetworkError> {
        var tables = OVSTables()
        let lists: [(String, [String])] = [
            ("Interface", OVSTables.interfaceColumns), ("Port", OVSTables.portColumns),
            ("Bridge", OVSTables.bridgeColumns),
        ]
        for (table, columns) in lists {
            switch await list(
                table, columns: columns, database: database, timeout: timeout, executable: executable,
                maxOutputBytes: maxOutputBytes)
            {
            case .success(let rows): tables.apply(updates: [table: .object(rows)])
            case .failure(let error): return .failure(error)
            }
        }
        return .success(tables)
    }

    /// One table as `<table-updates>` rows (`{uuid: {"new": {column: datum}}}`).
    static func list(
        _ table: String, columns: [String], database: String?, timeout: Duration, executable: String,
        maxOutputBytes: Int
    ) async -> Result<[String: JSONValue], NetworkError> {
        var arguments = ["--timeout=\(max(1, timeout.components.seconds))", "--format=json", "--data=json"]
        if let database { arguments.append("--db=\(database)") }
        arguments += ["--columns=" + (["_uuid"] + columns).joined(separator: ","), "list", table]
        let program: Executable = executable.hasPrefix("/") ? .path(FilePath(executable)) : .name(executable)
        let output: String
        do {
            let result = try await run(
                program, arguments: Arguments(arguments), output: .string(limit: maxOutputBytes),
                error: .string(limit: 4096))
            guard case .exited(0) = result.terminationStatus else {
                let reason = result.standardError.split(separator: "\n").first.map(String.init) ?? ""
                return .failure(
                    NetworkError(.system, "ovs-vsctl list \(table): \(result.terminationStatus) \(reason.prefix(200))"))
            }
            output = result.standardOutput
        } catch {
            return .failure(NetworkError(.system, "ovs-vsctl: \(String(describing: error).prefix(200))"))
        }
        guard let document = JSONValue.parse(output), let headings = document["headings"]?.array?.map(\.string),
            let data = document["data"]?.array
        else {
            return .failure(NetworkError(.protocolViolation, "ovs-vsctl list \(table): not the JSON table format"))
        }
        var rows: [String: JSONValue] = [:]
        for record in data {
            var row: [String: JSONValue] = [:]
            for (heading, value) in zip(headings, record.array ?? []) {
                if let heading { row[heading] = value }
            }
            guard let uuid = row["_uuid"]?.array?.last?.string else { continue }
            rows[uuid] = .object(["new": .object(row)])
        }
        return .success(rows)
    }
}

/// One ovs-vsctl read per database at a time, its answer reused for a moment.
actor OVSVsctlRuns {
    static let shared = OVSVsctlRuns()

    private var runs: [String: (started: ContinuousClock.Instant, task: Task<Result<OVSTables, NetworkError>, Never>)] =
        [:]

    func tables(database: String?, timeout: Duration, maxAge: Duration) async -> Result<OVSTables, NetworkError> {
        let key = database ?? ""
        let now = ContinuousClock.now
        if let run = runs[key], now - run.started < maxAge { return await run.task.value }
        // Forget runs of other databases that are old (bounded: one entry per database socket in use).
        runs = runs.filter { now - $0.value.started < maxAge }
        let task = Task { await OVSVsctl.tables(database: database, timeout: timeout) }
        runs[key] = (now, task)
        return await task.value
    }
}

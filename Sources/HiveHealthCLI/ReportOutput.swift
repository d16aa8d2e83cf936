import Foundation
import HealthAPI
import HealthCore
import HealthDaemon

/// Prints a ``HealthReport`` as the JSON of DESIGN §7 or as a table for people.
enum ReportOutput {
    static func print(_ report: HealthReport, format: OutputFormat) throws {
        switch format {
        case .json: Swift.print(try json(report))
        case .table: Swift.print(table(report), terminator: "")
        }
    }

    /// `status`: where the report came from, the report and, below it, the ReportInstanceStatus reports users sent
    /// through the EC2 API (in JSON extra `source` and `reports` fields).
    static func print(
        _ report: HealthReport, reports: [InstanceStatusReport], source: DaemonAccess.StatusSource,
        format: OutputFormat
    ) throws {
        switch format {
        case .json:
            Swift.print(
                try json(StatusWithReports(report: report, reports: reports, source: StatusSourceField(source))))
        case .table:
            Swift.print("source: \(describe(source))")
            Swift.print(table(report), terminator: "")
            guard !reports.isEmpty else { return }
            Swift.print("\nReported by users (ReportInstanceStatus):")
            var rows = [["REPORTED", "INSTANCES", "STATUS", "REASONS", "DESCRIPTION"]]
            for item in reports {
                rows.append([
                    RFC3339.format(item.reportedAt), item.instanceIDs.joined(separator: ","), item.status,
                    item.reasonCodes.joined(separator: ","), item.description ?? "",
                ])
            }
            Swift.print(columns(rows), terminator: "")
        }
    }

    /// `running daemon (pid N)`, or `state store LOCATION (saved at T)` and why the daemon did not answer.
    static func describe(_ source: DaemonAccess.StatusSource) -> String {
        switch source {
        case .daemon(let pid, _):
            return "running daemon (pid \(pid))"
        case .store(let location, let savedAt, let unreachable):
            var text = "state store \(location)"
            if let savedAt { text += " (saved at \(RFC3339.format(savedAt)))" }
            if let unreachable { text += "; the daemon's control socket did not answer: \(unreachable)" }
            return text
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder.healthMessages
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func table(_ report: HealthReport) -> String {
        var out = "NODE \(report.node.name)  system: \(report.node.system.status.rawValue)"
        if let since = report.node.system.impairedSince { out += " since \(RFC3339.format(since))" }
        out += "\n"
        if let catalogue = report.catalogue { out += "catalogue: \(catalogue.summary)\n" }
        var rows: [[String]] = [["INSTANCE", "STATE", "SYSTEM", "INSTANCE-STATUS", "EBS"]]
        for instance in report.instances {
            rows.append([
                instance.instanceID, instance.state.rawValue, instance.system.status.rawValue,
                instance.instance.status.rawValue, instance.ebs.status.rawValue,
            ])
        }
        if report.instances.isEmpty {
            out += "(no instances)\n"
        } else {
            out += "\n" + columns(rows)
        }
        var checks: [[String]] = [["CHECK", "CATEGORY", "TARGET", "STATUS", "MESSAGE"]]
        for check in report.node.system.checks {
            checks.append([check.name, "system", check.target, check.status.rawValue, check.message])
        }
        for instance in report.instances {
            for category in [HealthCategory.instance, .ebs, .system] {
                for check in instance[category].checks where category != .system || check.target != report.node.name {
                    checks.append([check.name, category.rawValue, check.target, check.status.rawValue, check.message])
                }
            }
        }
        out += "\n" + columns(checks)
        return out
    }

    static func columns(_ rows: [[String]]) -> String {
        guard let count = rows.first?.count else { return "" }
        var widths = Array(repeating: 0, count: count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < count - 1 { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

/// `status --format json`: the report's fields, `reports` and `source`.
struct StatusWithReports: Encodable {
    let report: HealthReport
    let reports: [InstanceStatusReport]
    let source: StatusSourceField

    enum CodingKeys: String, CodingKey { case reports, source }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reports, forKey: .reports)
        try container.encode(source, forKey: .source)
    }
}

/// `status --format json`'s `source`: `{"kind": "daemon", "pid", "socket"}` or `{"kind": "store", "location",
/// "saved_at", "daemon_unreachable"}` (absent fields left out).
struct StatusSourceField: Encodable {
    var kind: String
    var pid: Int32?
    var socket: String?
    var location: String?
    var savedAt: Date?
    var daemonUnreachable: String?

    enum CodingKeys: String, CodingKey {
        case kind, pid, socket, location
        case savedAt = "saved_at"
        case daemonUnreachable = "daemon_unreachable"
    }

    init(_ source: DaemonAccess.StatusSource) {
        switch source {
        case .daemon(let pid, let socket):
            kind = "daemon"
            self.pid = pid
            self.socket = socket
        case .store(let location, let savedAt, let unreachable):
            kind = "store"
            self.location = location
            self.savedAt = savedAt
            daemonUnreachable = unreachable
        }
    }
}

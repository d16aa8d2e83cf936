import Foundation
import HealthCore
import Synchronization

/// A user's report of an instance's status (ReportInstanceStatus). As on AWS it is kept for operators and does not
/// change DescribeInstanceStatus.
public struct InstanceStatusReport: Sendable, Hashable, Codable {
    /// AWS's reason codes.
    public static let reasonCodes: Set<String> = [
        "instance-stuck-in-state", "unresponsive", "not-accepting-credentials", "password-not-available",
        "performance-network", "performance-instance-store", "performance-ebs-volume", "performance-other", "other",
    ]
    public static let maxDescriptionLength = 1024

    public var reportID: String
    public var instanceIDs: [String]
    /// `ok` or `impaired`.
    public var status: String
    public var reasonCodes: [String]
    public var startTime: Date
    public var endTime: Date?
    public var description: String?
    public var reportedAt: Date
    /// The access key that signed the request, when signing is on.
    public var accessKeyID: String?
    /// The node whose API took the report.
    public var node: String?

    enum CodingKeys: String, CodingKey {
        case reportID = "report_id"
        case instanceIDs = "instance_ids"
        case status
        case reasonCodes = "reason_codes"
        case startTime = "start_time"
        case endTime = "end_time"
        case description
        case reportedAt = "reported_at"
        case accessKeyID = "access_key_id"
        case node
    }

    public init(
        reportID: String, instanceIDs: [String], status: String, reasonCodes: [String], startTime: Date,
        endTime: Date?, description: String?, reportedAt: Date, accessKeyID: String? = nil, node: String? = nil
    ) {
        self.reportID = reportID
        self.instanceIDs = instanceIDs
        self.status = status
        self.reasonCodes = reasonCodes
        self.startTime = startTime
        self.endTime = endTime
        self.description = description
        self.reportedAt = reportedAt
        self.accessKeyID = accessKeyID
        self.node = node
    }

    /// Validates the parameters (shape only; the instances are checked against the fleet by ``validate(against:)``).
    public init(parameters p: QueryParameters, now: Date, reportID: String) throws(EC2Error) {
        let ids = p.list("InstanceId")
        guard !ids.isEmpty else {
            throw EC2Error(.missingParameter, "The request must contain the parameter InstanceId")
        }
        guard ids.count <= DescribeInstanceStatusRequest.maxInstanceIDs else {
            throw EC2Error(.invalidParameterValue, "The request may name at most 100 instance IDs")
        }
        for id in ids where !InstanceID.isWellFormed(id) {
            throw EC2Error(.invalidInstanceIDMalformed, "Invalid id: \"\(id)\"")
        }
        guard let status = p["Status"] else {
            throw EC2Error(.missingParameter, "The request must contain the parameter Status")
        }
        guard status == "ok" || status == "impaired" else {
            throw EC2Error(.invalidParameterValue, "Value (\(status)) for parameter Status is invalid: ok or impaired")
        }
        let reasons = p.list("ReasonCode")
        guard !reasons.isEmpty else {
            throw EC2Error(.missingParameter, "The request must contain the parameter ReasonCode")
        }
        for reason in reasons where !Self.reasonCodes.contains(reason) {
            throw EC2Error(.invalidParameterValue, "Value (\(reason)) for parameter ReasonCode is invalid")
        }
        var start = now
        if let text = p["StartTime"] {
            guard let date = EC2Timestamp.parse(text) else {
                throw EC2Error(.invalidParameterValue, "Value (\(text)) for parameter StartTime is invalid")
            }
            start = date
        }
        var end: Date?
        if let text = p["EndTime"] {
            guard let date = EC2Timestamp.parse(text) else {
                throw EC2Error(.invalidParameterValue, "Value (\(text)) for parameter EndTime is invalid")
            }
            guard date >= start else {
                throw EC2Error(.invalidParameterValue, "The EndTime must be later than the StartTime")
            }
            end = date
        }
        let description = p["Description"]
        if let description, description.count > Self.maxDescriptionLength {
            throw EC2Error(.invalidParameterValue, "The Description is longer than \(Self.maxDescriptionLength)")
        }
        self.init(
            reportID: reportID, instanceIDs: Array(Set(ids)).sorted(), status: status, reasonCodes: reasons,
            startTime: start, endTime: end, description: description, reportedAt: now)
    }

    /// Every instance must exist and be running.
    public func validate(against instances: [InstanceStatusView]) throws(EC2Error) {
        var missing: [String] = []
        for id in instanceIDs {
            guard let view = DescribeInstanceStatus.find(id, in: instances) else {
                missing.append(id)
                continue
            }
            guard view.health.state == .running else {
                throw EC2Error(
                    .incorrectInstanceState,
                    "The instance '\(id)' is not in a state from which it can be reported "
                        + "(\(view.health.state.ec2Name))")
            }
        }
        guard missing.isEmpty else {
            throw EC2Error(
                .invalidInstanceIDNotFound,
                "The instance ID\(missing.count == 1 ? "" : "s") \(missing.map { "'\($0)'" }.joined(separator: ", ")) "
                    + (missing.count == 1 ? "does not exist" : "do not exist"))
        }
    }

    public static func xml(requestID: String) -> String {
        var w = XMLWriter()
        w.open("ReportInstanceStatusResponse", namespace: EC2API.namespace)
        w.element("requestId", requestID)
        w.element("return", "true")
        w.close("ReportInstanceStatusResponse")
        return w.text
    }
}

/// Where accepted reports go: the state store (a file next to the state file, or JetStream KV) and, with NATS, the
/// events subject.
public protocol InstanceStatusReportSink: Sendable {
    func record(_ report: InstanceStatusReport) async throws
}

/// Keeps reports in `instance-reports.json` in the state directory: the newest ``limit``, replaced atomically.
public final class FileReportStore: InstanceStatusReportSink {
    public static let fileName = "instance-reports.json"
    public let path: String
    public let limit: Int
    private let lock = Mutex(())

    public init(directory: String, limit: Int = 1000) {
        self.path = directory + "/" + Self.fileName
        self.limit = limit
    }

    public func record(_ report: InstanceStatusReport) async throws {
        try lock.withLock { _ in
            var reports = Self.load(path: path)
            reports.append(report)
            if reports.count > limit { reports.removeFirst(reports.count - limit) }
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys]
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try encoder.encode(reports).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }

    /// The reports saved in `path` (none when the file is missing or unreadable).
    public static func load(path: String) -> [InstanceStatusReport] {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 64 << 20 else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode([InstanceStatusReport].self, from: data)) ?? []
    }
}

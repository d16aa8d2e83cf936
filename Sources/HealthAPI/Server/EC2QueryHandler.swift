import Foundation
import HealthCore
import Logging

/// Answers EC2 Query requests: authentication, parameters, the action, the XML; errors as EC2 error XML. Independent
/// of HTTP, so tests drive it directly; ``APIServer`` puts it behind Hummingbird.
public struct EC2QueryHandler: Sendable {
    /// An HTTP request as the handler needs it.
    public typealias Request = APIRequest

    /// The answer: an HTTP status and an XML document.
    public struct Response: Sendable {
        public var status: Int
        public var body: String
        public var requestID: String
    }

    public let source: any InstanceStatusSource
    public let reports: (any InstanceStatusReportSink)?
    /// Where ModifyInstanceMaintenanceOptions keeps its changes; nil: the action is unsupported.
    public let maintenance: (any InstanceMaintenanceOptionsStore)?
    /// Nil: requests are not authenticated (loopback only, see ``APIServer``).
    public let verifier: SigV4Verifier?
    public let metrics: HealthMetrics?
    public let node: String?
    let logger: Logger
    let now: @Sendable () -> Date
    /// DescribeInstanceStatus items rendered for earlier requests, reused while an instance's view is unchanged.
    let renderedItems = RenderedItems()

    /// Real EC2 actions this API does not implement: `UnsupportedOperation` rather than `InvalidAction`.
    static let knownActions: Set<String> = [
        "DescribeInstances", "RunInstances", "StartInstances", "StopInstances", "RebootInstances",
        "TerminateInstances", "DescribeVolumes", "DescribeVolumeStatus", "DescribeRegions",
        "DescribeAvailabilityZones", "DescribeImages", "CreateTags", "DescribeTags", "ModifyInstanceAttribute",
        "DescribeInstanceAttribute", "MonitorInstances", "UnmonitorInstances", "DescribeInstanceTypes",
    ]

    public init(
        source: any InstanceStatusSource, reports: (any InstanceStatusReportSink)? = nil,
        verifier: SigV4Verifier? = nil,
        metrics: HealthMetrics? = nil, node: String? = nil,
        maintenance: (any InstanceMaintenanceOptionsStore)? = nil, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.source = source
        self.reports = reports
        self.maintenance = maintenance
        self.verifier = verifier
        self.metrics = metrics
        self.node = node
        self.logger = logger
        self.now = now
    }

    /// Never throws: every failure is an EC2 error document.
    public func handle(_ request: Request) async -> Response {
        let requestID = UUID().uuidString.lowercased()
        do {
            let body = try await answer(request, requestID: requestID)
            return Response(status: 200, body: body, requestID: requestID)
        } catch {
            logger.debug("EC2 API: \(error.code.rawValue): \(error.message)", metadata: ["request_id": "\(requestID)"])
            return Response(status: error.code.httpStatus, body: error.xml(requestID: requestID), requestID: requestID)
        }
    }

    func answer(_ request: Request, requestID: String) async throws(EC2Error) -> String {
        guard request.method == "GET" || request.method == "POST" else {
            throw EC2Error(.invalidAction, "The HTTP method \(request.method) is not supported")
        }
        var accessKeyID: String?
        if let verifier {
            accessKeyID = try verifier.verify(request, now: now())
        }
        var parameters = try QueryParameters.parse(Array(request.query.utf8))
        if request.method == "POST" { parameters.merge(try QueryParameters.parse(request.body)) }
        guard let action = parameters["Action"], !action.isEmpty else {
            throw EC2Error(.missingParameter, "The request must contain the parameter Action")
        }
        guard let version = parameters["Version"] else {
            throw EC2Error(.missingParameter, "The request must contain the parameter Version")
        }
        guard version == EC2API.version else {
            throw EC2Error(.invalidParameterValue, "Version \(version) is not supported: use \(EC2API.version)")
        }
        switch action {
        case "DescribeInstanceStatus":
            let describe = try DescribeInstanceStatusRequest(parameters: parameters)
            if describe.dryRun { throw Self.dryRun }
            let instances = try await instances()
            let page = try DescribeInstanceStatus.page(describe, instances: instances)
            return DescribeInstanceStatus.xml(page, requestID: requestID, items: renderedItems)
        case "ReportInstanceStatus":
            var report = try InstanceStatusReport(parameters: parameters, now: now(), reportID: requestID)
            report.accessKeyID = accessKeyID
            report.node = node
            let dryRun = try DescribeInstanceStatusRequest.bool(parameters, "DryRun") ?? false
            try report.validate(against: try await instances())
            if dryRun { throw Self.dryRun }
            guard let reports else {
                throw EC2Error(.unsupportedOperation, "This daemon does not keep instance status reports")
            }
            do {
                try await reports.record(report)
            } catch {
                logger.error("EC2 API: cannot store an instance status report: \(error)")
                throw EC2Error(.internalError, "The report could not be stored")
            }
            metrics?.countReport()
            logger.info(
                "instance status reported",
                metadata: [
                    "instances": "\(report.instanceIDs.joined(separator: ","))", "status": "\(report.status)",
                    "reasons": "\(report.reasonCodes.joined(separator: ","))",
                ])
            return InstanceStatusReport.xml(requestID: requestID)
        case "ModifyInstanceMaintenanceOptions":
            let modify = try ModifyInstanceMaintenanceOptionsRequest(parameters: parameters)
            guard try await instances().contains(where: { $0.instanceID == modify.instanceID }) else {
                throw EC2Error(.invalidInstanceIDNotFound, "The instance ID '\(modify.instanceID)' does not exist")
            }
            if modify.dryRun { throw Self.dryRun }
            guard let maintenance else {
                throw EC2Error(.unsupportedOperation, "This daemon keeps no maintenance options (it has no NATS)")
            }
            let value: InstanceMaintenanceOptions.AutoRecovery
            do {
                if let wanted = modify.autoRecovery {
                    try await maintenance.setAutoRecovery(wanted, instance: modify.instanceID)
                    value = wanted
                } else {
                    value = try await maintenance.maintenanceOptions(instance: modify.instanceID)
                }
            } catch {
                logger.error("EC2 API: cannot keep the maintenance options of \(modify.instanceID): \(error)")
                throw EC2Error(.internalError, "The maintenance options could not be stored")
            }
            logger.info(
                "instance maintenance options changed",
                metadata: ["instance": "\(modify.instanceID)", "auto_recovery": "\(value.rawValue)"])
            return ModifyInstanceMaintenanceOptionsRequest.xml(
                instanceID: modify.instanceID, autoRecovery: value, requestID: requestID)
        default:
            if Self.knownActions.contains(action) {
                throw EC2Error(.unsupportedOperation, "The action \(action) is not supported by hive-health")
            }
            throw EC2Error(.invalidAction, "The action \(action) is not valid for this web service.")
        }
    }

    static let dryRun = EC2Error(.dryRunOperation, "Request would have succeeded, but DryRun flag is set.")

    /// The source's instances, sorted by id (the source's contract: no request scans or sorts them).
    func instances() async throws(EC2Error) -> [InstanceStatusView] {
        do {
            return try await source.instanceStatuses()
        } catch {
            logger.error("EC2 API: the status source failed: \(error)")
            throw EC2Error(.internalError, "The status of the instances cannot be read now")
        }
    }
}

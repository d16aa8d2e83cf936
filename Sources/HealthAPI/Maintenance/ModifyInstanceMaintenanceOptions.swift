import Foundation
import HealthCore

/// Where ModifyInstanceMaintenanceOptions keeps what it changes (the daemon: the recovery bucket in JetStream KV).
public protocol InstanceMaintenanceOptionsStore: Sendable {
    /// The instance's options; `default` auto-recovery when none were ever set.
    func maintenanceOptions(instance: String) async throws -> InstanceMaintenanceOptions.AutoRecovery
    /// Sets the instance's auto-recovery.
    func setAutoRecovery(_ value: InstanceMaintenanceOptions.AutoRecovery, instance: String) async throws
}

/// ModifyInstanceMaintenanceOptions as botocore 1.43's EC2 model has it: `InstanceId` (required), `AutoRecovery`
/// (`default` | `disabled`), `RebootMigration` (accepted only as `default`: Hive has no reboot migration), `DryRun`.
public struct ModifyInstanceMaintenanceOptionsRequest: Sendable, Hashable {
    public var instanceID: String
    public var autoRecovery: InstanceMaintenanceOptions.AutoRecovery?
    public var dryRun: Bool

    public init(parameters p: QueryParameters) throws(EC2Error) {
        guard let id = p["InstanceId"], !id.isEmpty else {
            throw EC2Error(.missingParameter, "The request must contain the parameter InstanceId")
        }
        guard InstanceID.isWellFormed(id) else { throw EC2Error(.invalidInstanceIDMalformed, "Invalid id: \"\(id)\"") }
        instanceID = id
        if let text = p["AutoRecovery"] {
            guard let value = InstanceMaintenanceOptions.AutoRecovery(rawValue: text) else {
                throw EC2Error(
                    .invalidParameterValue,
                    "Value (\(text.prefix(64))) for parameter AutoRecovery is invalid. Expecting default or disabled.")
            }
            autoRecovery = value
        }
        if let migration = p["RebootMigration"], migration != "default" {
            throw EC2Error(
                .unsupportedOperation, "RebootMigration \(migration.prefix(64)) is not supported by hive-health")
        }
        dryRun = try DescribeInstanceStatusRequest.bool(p, "DryRun") ?? false
    }

    /// The response document: the instance and its auto-recovery after the change.
    public static func xml(
        instanceID: String, autoRecovery: InstanceMaintenanceOptions.AutoRecovery, requestID: String
    ) -> String {
        var w = XMLWriter()
        w.open("ModifyInstanceMaintenanceOptionsResponse", namespace: EC2API.namespace)
        w.element("requestId", requestID)
        w.element("instanceId", instanceID)
        w.element("autoRecovery", autoRecovery.rawValue)
        w.element("rebootMigration", "default")
        w.close("ModifyInstanceMaintenanceOptionsResponse")
        return w.text
    }
}

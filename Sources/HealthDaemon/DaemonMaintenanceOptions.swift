import Foundation
import HealthAPI
import HealthCore
import HealthRecovery

/// ModifyInstanceMaintenanceOptions' store for the daemon: `maintenance.<instance>` in the recovery bucket, where
/// every node's recovery policy reads it.
struct DaemonMaintenanceOptions: InstanceMaintenanceOptionsStore {
    let openRecovery: @Sendable () async throws -> RecoveryStore

    func maintenanceOptions(instance: String) async throws -> InstanceMaintenanceOptions.AutoRecovery {
        try await openRecovery().maintenanceOptions(instance: instance)?.autoRecovery ?? .default
    }

    func setAutoRecovery(_ value: InstanceMaintenanceOptions.AutoRecovery, instance: String) async throws {
        try await openRecovery().setMaintenanceOptions(
            InstanceMaintenanceOptions(instance: instance, autoRecovery: value, updatedAt: Date()))
    }
}

import Foundation

/// An instance's maintenance options, EC2's `ModifyInstanceMaintenanceOptions`: whether the recovery policy may
/// recover it (`AutoRecovery`). Kept in the recovery bucket with the fleet's state (docs/recovery.md).
public struct InstanceMaintenanceOptions: Sendable, Hashable, Codable {
    /// EC2's `InstanceAutoRecoveryState`.
    public enum AutoRecovery: String, Sendable, Hashable, Codable, CaseIterable {
        /// Recovered as the policy decides (EC2's default).
        case `default`
        /// Never recovered: an impairment is shown, nothing is proposed or done.
        case disabled
    }

    public var instance: String
    public var autoRecovery: AutoRecovery
    public var updatedAt: Date

    public init(instance: String, autoRecovery: AutoRecovery, updatedAt: Date) {
        self.instance = instance
        self.autoRecovery = autoRecovery
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case instance
        case autoRecovery = "auto_recovery"
        case updatedAt = "updated_at"
    }
}

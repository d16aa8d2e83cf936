/// CloudWatch's four status check metrics (namespace `AWS/EC2`, dimension `InstanceId`), one home for their names and
/// for the rule that turns an instance's categories into their values.
public enum StatusCheckMetric: String, Sendable, Hashable, CaseIterable, Codable {
    case statusCheckFailed = "StatusCheckFailed"
    case instance = "StatusCheckFailed_Instance"
    case system = "StatusCheckFailed_System"
    case attachedEBS = "StatusCheckFailed_AttachedEBS"

    /// The CloudWatch namespace of every status check metric.
    public static let namespace = "AWS/EC2"
    /// The only dimension the metrics carry.
    public static let dimension = "InstanceId"

    /// The value of this metric for an instance: 1 impaired, 0 ok, nil when there is no verdict (insufficient
    /// data, initializing, not applicable): no datapoint, as in CloudWatch, and never a 0 that would read as healthy.
    /// `StatusCheckFailed` is 1 when any category is impaired, 0 when system and instance are ok.
    public func value(for health: InstanceHealth) -> Double? {
        switch self {
        case .system: Self.value(health.system.status)
        case .instance: Self.value(health.instance.status)
        case .attachedEBS: Self.value(health.ebs.status)
        case .statusCheckFailed:
            [health.system.status, health.instance.status, health.ebs.status].contains(.impaired)
                ? 1 : (health.system.status == .ok && health.instance.status == .ok ? 0 : nil)
        }
    }

    static func value(_ status: SummaryStatus) -> Double? {
        switch status {
        case .impaired: 1
        case .ok: 0
        case .insufficientData, .initializing, .notApplicable: nil
        }
    }
}

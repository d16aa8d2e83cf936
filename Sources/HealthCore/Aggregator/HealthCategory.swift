/// The three status-check categories of EC2.
public enum HealthCategory: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// The host: power, hardware, network path, storage service.
    case system
    /// The guest: agent reachability, panics, resource exhaustion, network.
    case instance
    /// The attached EBS volumes: reachable and doing I/O.
    case ebs

    public static func < (lhs: HealthCategory, rhs: HealthCategory) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

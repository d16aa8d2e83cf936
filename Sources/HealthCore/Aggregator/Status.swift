import Foundation

/// The status of one check (EC2's detail status).
public enum DetailStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case passed
    case failed
    case insufficientData = "insufficient-data"
    case initializing
}

/// The status of a category (EC2's summary status).
public enum SummaryStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case ok
    case impaired
    case insufficientData = "insufficient-data"
    case notApplicable = "not-applicable"
    case initializing
}

/// One check's current status for one target, as shown in the CLI, on NATS and in the state store.
public struct CheckStatus: Sendable, Hashable, Codable {
    public var name: String
    public var probe: String
    /// The target's id (node name, instance id or volume id).
    public var target: String
    public var status: DetailStatus
    public var message: String
    public var observedAt: Date?
    /// When the current failing streak began, while the check is failed.
    public var impairedSince: Date?
    public var flapping: Bool
    public var values: [String: Double]

    public init(
        name: String, probe: String, target: String, status: DetailStatus, message: String, observedAt: Date?,
        impairedSince: Date? = nil, flapping: Bool = false, values: [String: Double] = [:]
    ) {
        self.name = name
        self.probe = probe
        self.target = target
        self.status = status
        self.message = message
        self.observedAt = observedAt
        self.impairedSince = impairedSince
        self.flapping = flapping
        self.values = values
    }

    enum CodingKeys: String, CodingKey {
        case name, probe, target, status, message, flapping, values
        case observedAt = "observed_at"
        case impairedSince = "impaired_since"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        probe = try c.decode(String.self, forKey: .probe)
        target = try c.decode(String.self, forKey: .target)
        status = try c.decode(DetailStatus.self, forKey: .status)
        message = try c.decodeIfPresent(String.self, forKey: .message) ?? ""
        observedAt = try c.decodeIfPresent(Date.self, forKey: .observedAt)
        impairedSince = try c.decodeIfPresent(Date.self, forKey: .impairedSince)
        flapping = try c.decodeIfPresent(Bool.self, forKey: .flapping) ?? false
        values = try c.decodeIfPresent([String: Double].self, forKey: .values) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(probe, forKey: .probe)
        try c.encode(target, forKey: .target)
        try c.encode(status, forKey: .status)
        try c.encode(message, forKey: .message)
        try c.encode(observedAt, forKey: .observedAt)
        try c.encode(impairedSince, forKey: .impairedSince)
        try c.encode(flapping, forKey: .flapping)
        if !values.isEmpty { try c.encode(values, forKey: .values) }
    }
}

/// One category of one instance (or of the node).
public struct CategoryStatus: Sendable, Hashable, Codable {
    public var status: SummaryStatus
    /// When the earliest current failing streak among the failed checks began; nil unless impaired.
    public var impairedSince: Date?
    public var checks: [CheckStatus]

    public init(status: SummaryStatus, impairedSince: Date? = nil, checks: [CheckStatus] = []) {
        self.status = status
        self.impairedSince = impairedSince
        self.checks = checks
    }

    public static let notApplicable = CategoryStatus(status: .notApplicable)

    enum CodingKeys: String, CodingKey {
        case status, checks
        case impairedSince = "impaired_since"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(SummaryStatus.self, forKey: .status)
        impairedSince = try c.decodeIfPresent(Date.self, forKey: .impairedSince)
        checks = try c.decodeIfPresent([CheckStatus].self, forKey: .checks) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(impairedSince, forKey: .impairedSince)
        try c.encode(checks, forKey: .checks)
    }
}

/// The three categories of one instance.
public struct InstanceHealth: Sendable, Hashable, Codable {
    public var instanceID: String
    public var state: InstanceState
    public var availabilityZone: String
    public var system: CategoryStatus
    public var instance: CategoryStatus
    public var ebs: CategoryStatus

    public init(
        instanceID: String, state: InstanceState, availabilityZone: String, system: CategoryStatus,
        instance: CategoryStatus, ebs: CategoryStatus
    ) {
        self.instanceID = instanceID
        self.state = state
        self.availabilityZone = availabilityZone
        self.system = system
        self.instance = instance
        self.ebs = ebs
    }

    public subscript(category: HealthCategory) -> CategoryStatus {
        get {
            switch category {
            case .system: system
            case .instance: instance
            case .ebs: ebs
            }
        }
        set {
            switch category {
            case .system: system = newValue
            case .instance: instance = newValue
            case .ebs: ebs = newValue
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id"
        case state
        case availabilityZone = "availability_zone"
        case system, instance, ebs
    }
}

/// The node's own (system) category.
public struct NodeHealth: Sendable, Hashable, Codable {
    public var name: String
    public var system: CategoryStatus

    public init(name: String, system: CategoryStatus) {
        self.name = name
        self.system = system
    }
}

/// The whole view: what `check` and `status` print, and what the state store keeps.
public struct HealthReport: Sendable, Hashable, Codable {
    public var node: NodeHealth
    public var instances: [InstanceHealth]
    /// The catalogue the daemon runs (nil for `check`, and in state saved before it was recorded).
    public var catalogue: CatalogueVersion?

    public init(node: NodeHealth, instances: [InstanceHealth], catalogue: CatalogueVersion? = nil) {
        self.node = node
        self.instances = instances
        self.catalogue = catalogue
    }

    /// The report with each category's status and ImpairedSince alone, no checks.
    public var withoutChecks: HealthReport {
        func strip(_ category: CategoryStatus) -> CategoryStatus {
            CategoryStatus(status: category.status, impairedSince: category.impairedSince)
        }
        var report = self
        report.node.system = strip(node.system)
        report.instances = instances.map { health in
            var health = health
            health.system = strip(health.system)
            health.instance = strip(health.instance)
            health.ebs = strip(health.ebs)
            return health
        }
        return report
    }

    /// Every check status in the report (node and instances).
    public var allChecks: [CheckStatus] {
        node.system.checks + instances.flatMap { $0.system.checks + $0.instance.checks + $0.ebs.checks }
    }
}

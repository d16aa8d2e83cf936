import Foundation

/// What a check looks at: the node itself, one instance, or one volume of an instance.
public enum TargetKind: String, Sendable, Hashable, Codable, CaseIterable {
    case node
    case instance
    case volume
}

/// The node (host) hive-health runs on.
public struct NodeInfo: Sendable, Hashable, Codable {
    public var name: String
    public var region: String
    public var availabilityZone: String
    public var labels: [String: String]

    public init(name: String, region: String = "", availabilityZone: String = "", labels: [String: String] = [:]) {
        self.name = name
        self.region = region
        self.availabilityZone = availabilityZone
        self.labels = labels
    }
}

/// The lifecycle state of an instance, as Hive names it, with EC2's state code.
public struct InstanceState: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let provisioning = InstanceState(rawValue: "provisioning")
    public static let pending = InstanceState(rawValue: "pending")
    public static let running = InstanceState(rawValue: "running")
    public static let stopping = InstanceState(rawValue: "stopping")
    public static let stopped = InstanceState(rawValue: "stopped")
    public static let shuttingDown = InstanceState(rawValue: "shutting-down")
    public static let terminated = InstanceState(rawValue: "terminated")
    public static let error = InstanceState(rawValue: "error")

    /// EC2's `instanceState.name` for this state (Hive's `provisioning` and `error` have no EC2 name).
    public var ec2Name: String {
        switch self {
        case .provisioning: "pending"
        case .error: "stopped"
        default: rawValue
        }
    }

    /// EC2's `instanceState.code`.
    public var ec2Code: Int {
        switch ec2Name {
        case "pending": 0
        case "running": 16
        case "shutting-down": 32
        case "terminated": 48
        case "stopping": 64
        case "stopped": 80
        default: 80
        }
    }

    public var description: String { rawValue }
}

/// One EBS volume attached to an instance.
public struct VolumeInfo: Sendable, Hashable, Codable {
    public var id: String
    /// `nbd:unix:/path.sock`, `nbd+unix:///export?socket=/path` or `nbd://host:port/export`.
    public var nbdURI: String
    public var deviceName: String
    public var boot: Bool

    public init(id: String, nbdURI: String = "", deviceName: String = "", boot: Bool = false) {
        self.id = id
        self.nbdURI = nbdURI
        self.deviceName = deviceName
        self.boot = boot
    }
}

/// A thing a check runs against.
///
/// Indirect: a target is one reference to its (large) instance record, so the jobs of one instance share one copy
/// and handing a target to a probe run costs a reference count, not a copy of every field.
public indirect enum Target: Sendable, Hashable {
    case node(NodeInfo)
    case instance(InstanceInfo)
    case volume(VolumeInfo, of: InstanceInfo)

    public var kind: TargetKind {
        switch self {
        case .node: .node
        case .instance: .instance
        case .volume: .volume
        }
    }

    /// The id used in job keys and output: the node name, the instance id or the volume id.
    public var id: String {
        switch self {
        case .node(let node): node.name
        case .instance(let instance): instance.id
        case .volume(let volume, _): volume.id
        }
    }

    /// The instance this target belongs to, if any.
    public var instance: InstanceInfo? {
        switch self {
        case .node: nil
        case .instance(let instance): instance
        case .volume(_, let instance): instance
        }
    }
}

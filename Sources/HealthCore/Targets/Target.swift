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

/// One instance as the inventory knows it, with the paths of its QEMU runtime files.
public struct InstanceInfo: Sendable, Hashable, Codable {
    public var id: String
    public var state: InstanceState
    public var node: String
    public var availabilityZone: String
    public var launchTime: Date?
    /// Hive's own QMP socket (Hive holds its one client connection).
    public var qmpSocket: String
    /// A second QMP monitor for telemetry and health, when Hive provides one.
    public var telemetryQMPSocket: String?
    public var guestAgentSocket: String
    public var pidFile: String
    public var serialSocket: String
    public var consoleLogPath: String
    public var eniID: String?
    public var eniMAC: String?
    public var privateIP: String?
    /// The tap device name given explicitly (qemu-scan), else derived from the ENI.
    public var tapName: String?
    public var volumes: [VolumeInfo]
    public var labels: [String: String]
    /// Secondary network interfaces (Spinifex's `extra_enis`), each a tap on br-int; nil when there are none.
    public var extraENIs: [ExtraENI]?
    /// Spinifex's own health bookkeeping of the VM (the record's `health` block), when the record has one.
    public var hiveHealth: HiveVMHealth?
    /// The VM has a guest agent channel (named in its record or on the command line, or `qga-<id>.sock` present);
    /// nil when the inventory does not say. The guest-agent checks select on it (`instance.guest_agent`).
    public var hasGuestAgent: Bool?
    /// The VM's owner (Spinifex's `account_id`); nil for an untenanted VM or an inventory that does not say.
    public var accountID: String?

    public init(
        id: String, state: InstanceState = .running, node: String = "", availabilityZone: String = "",
        launchTime: Date? = nil, qmpSocket: String = "", telemetryQMPSocket: String? = nil,
        guestAgentSocket: String = "", pidFile: String = "", serialSocket: String = "", consoleLogPath: String = "",
        eniID: String? = nil, eniMAC: String? = nil, privateIP: String? = nil, tapName: String? = nil,
        volumes: [VolumeInfo] = [], labels: [String: String] = [:]
    ) {
        self.id = id
        self.state = state
        self.node = node
        self.availabilityZone = availabilityZone
        self.launchTime = launchTime
        self.qmpSocket = qmpSocket
        self.telemetryQMPSocket = telemetryQMPSocket
        self.guestAgentSocket = guestAgentSocket
        self.pidFile = pidFile
        self.serialSocket = serialSocket
        self.consoleLogPath = consoleLogPath
        self.eniID = eniID
        self.eniMAC = eniMAC
        self.privateIP = privateIP
        self.tapName = tapName
        self.volumes = volumes
        self.labels = labels
    }

    /// `tap` + the ENI id without `eni-`, cut to 15 characters (IFNAMSIZ - 1).
    public static func tapDevice(eni: String) -> String {
        let suffix = eni.hasPrefix("eni-") ? String(eni.dropFirst(4)) : eni
        return String(("tap" + suffix).prefix(15))
    }

    /// The QMP socket health should talk to: the telemetry monitor when Hive provides one.
    public var healthQMPSocket: String { telemetryQMPSocket ?? qmpSocket }

    /// The OVS tap device: given, else `tap` + the ENI id without `eni-`, cut to 15 characters (IFNAMSIZ - 1).
    public var tapDevice: String? {
        if let tapName { return tapName }
        guard let eniID, !eniID.isEmpty else { return nil }
        return Self.tapDevice(eni: eniID)
    }
}

/// A thing a check runs against.
public enum Target: Sendable, Hashable {
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

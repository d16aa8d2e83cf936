import Foundation

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

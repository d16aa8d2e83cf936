/// The named fields of a target, used by `{{...}}` templates in params and by `when` selectors.
public struct TargetFields: Sendable {
    /// Every field name a check may reference, by the target kind that has it: an instance has its node's fields,
    /// a volume its instance's.
    public static let names: [TargetKind: [String]] = [
        .node: nodeNames, .instance: nodeNames + instanceNames, .volume: nodeNames + instanceNames + volumeNames,
    ]
    private static let nodeNames = ["node.name", "node.region", "node.az", "runtime_dir"]
    private static let instanceNames = [
        "instance.id", "instance.state", "instance.az", "instance.qmp_socket", "instance.hive_qmp_socket",
        "instance.guest_agent_socket", "instance.pid_file", "instance.serial_socket", "instance.console_log",
        "instance.eni_id", "instance.eni_mac", "instance.private_ip", "instance.tap", "instance.guest_agent",
        "instance.hive_health",
    ]
    private static let volumeNames = ["volume.id", "volume.nbd_uri", "volume.device", "volume.boot"]

    /// Label fields are open-ended: `node.label.<key>`, `instance.label.<key>`.
    public static func isKnown(_ name: String, for kind: TargetKind) -> Bool {
        if names[kind]?.contains(name) == true { return true }
        if name.hasPrefix("node.label."), name.count > "node.label.".count { return true }
        if kind != .node, name.hasPrefix("instance.label."), name.count > "instance.label.".count { return true }
        return false
    }

    public let target: Target
    public let node: NodeInfo
    public let runtimeDirectory: String

    public init(target: Target, node: NodeInfo, runtimeDirectory: String) {
        self.target = target
        self.node = node
        self.runtimeDirectory = runtimeDirectory
    }

    /// The value of `name` for this target, or nil when the target does not have it.
    public subscript(name: String) -> String? {
        switch name {
        case "node.name": return node.name
        case "node.region": return node.region
        case "node.az": return node.availabilityZone
        case "runtime_dir": return runtimeDirectory
        default: break
        }
        if name.hasPrefix("node.label.") { return node.labels[String(name.dropFirst("node.label.".count))] }
        if let instance = target.instance {
            switch name {
            case "instance.id": return instance.id
            case "instance.state": return instance.state.rawValue
            case "instance.az": return instance.availabilityZone
            case "instance.qmp_socket": return instance.healthQMPSocket
            case "instance.hive_qmp_socket": return instance.qmpSocket
            case "instance.guest_agent_socket": return instance.guestAgentSocket
            case "instance.pid_file": return instance.pidFile
            case "instance.serial_socket": return instance.serialSocket
            case "instance.console_log": return instance.consoleLogPath
            case "instance.eni_id": return instance.eniID
            case "instance.eni_mac": return instance.eniMAC
            case "instance.private_ip": return instance.privateIP
            case "instance.tap": return instance.tapDevice
            case "instance.guest_agent": return instance.hasGuestAgent.map { $0 ? "true" : "false" }
            case "instance.hive_health": return instance.hiveHealth == nil ? "false" : "true"
            default: break
            }
            if name.hasPrefix("instance.label.") {
                return instance.labels[String(name.dropFirst("instance.label.".count))]
            }
        }
        if case .volume(let volume, _) = target {
            switch name {
            case "volume.id": return volume.id
            case "volume.nbd_uri": return volume.nbdURI
            case "volume.device": return volume.deviceName
            case "volume.boot": return volume.boot ? "true" : "false"
            default: break
            }
        }
        return nil
    }
}

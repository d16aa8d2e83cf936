import HealthCore

/// One row of OVS's `Interface` table: the columns the health checks read.
public struct OVSInterfaceRow: Sendable, Hashable {
    public var uuid: String
    public var name: String
    /// Empty until ovs-vswitchd assigns a port number; -1 when it could not open the device.
    public var ofport: Int?
    public var adminState: String?
    public var linkState: String?
    public var error: String?
    public var externalIDs: [String: String]
    public var macInUse: String?

    public init(
        uuid: String, name: String, ofport: Int? = nil, adminState: String? = nil, linkState: String? = nil,
        error: String? = nil, externalIDs: [String: String] = [:], macInUse: String? = nil
    ) {
        self.uuid = uuid
        self.name = name
        self.ofport = ofport
        self.adminState = adminState
        self.linkState = linkState
        self.error = error
        self.externalIDs = externalIDs
        self.macInUse = macInUse
    }
}

/// A `Port` or `Bridge` row: its name and the uuids it contains (interfaces of a port, ports of a bridge).
public struct OVSContainerRow: Sendable, Hashable {
    public var uuid: String
    public var name: String
    public var members: Set<String>

    public init(uuid: String, name: String, members: Set<String>) {
        self.uuid = uuid
        self.name = name
        self.members = members
    }
}

/// What OVS says about one interface: the row and where it is plugged.
public struct OVSInterfaceStatus: Sendable, Hashable {
    public var interface: OVSInterfaceRow
    /// The `Port` holding the interface, nil when none does.
    public var port: String?
    /// The `Bridge` holding that port.
    public var bridge: String?

    public init(interface: OVSInterfaceRow, port: String?, bridge: String?) {
        self.interface = interface
        self.port = port
        self.bridge = bridge
    }
}

/// The three tables of the Open_vSwitch database the checks need, as last seen.
public struct OVSTables: Sendable, Hashable {
    public var interfaces: [String: OVSInterfaceRow] = [:]
    public var ports: [String: OVSContainerRow] = [:]
    public var bridges: [String: OVSContainerRow] = [:]

    public init() {}

    /// Name and membership indexes, rebuilt on the first lookup after a change: a lookup is then O(1).
    private var index: Index?

    private struct Index: Sendable, Hashable {
        var interfaceByName: [String: String] = [:]
        var portOfInterface: [String: String] = [:]
        var bridgeOfPort: [String: String] = [:]
    }

    /// The interface named `name` and where it is plugged; nil when there is no such interface.
    public mutating func status(ofInterface name: String) -> OVSInterfaceStatus? {
        if index == nil { index = buildIndex() }
        guard let index, let uuid = index.interfaceByName[name], let interface = interfaces[uuid] else { return nil }
        let port = index.portOfInterface[uuid].flatMap { ports[$0] }
        let bridge = port.flatMap { index.bridgeOfPort[$0.uuid] }.flatMap { bridges[$0] }
        return OVSInterfaceStatus(interface: interface, port: port?.name, bridge: bridge?.name)
    }

    private func buildIndex() -> Index {
        var index = Index()
        // Sorted, so that duplicate names (OVSDB does not forbid them in Interface) resolve the same way each time.
        for (uuid, row) in interfaces.sorted(by: { $0.key < $1.key }) where index.interfaceByName[row.name] == nil {
            index.interfaceByName[row.name] = uuid
        }
        for (uuid, port) in ports {
            for member in port.members { index.portOfInterface[member] = uuid }
        }
        for (uuid, bridge) in bridges {
            for member in bridge.members { index.bridgeOfPort[member] = uuid }
        }
        return index
    }

    /// The columns each table is monitored (and listed) with.
    static let interfaceColumns = [
        "name", "ofport", "admin_state", "link_state", "error", "external_ids", "mac_in_use",
    ]
    static let portColumns = ["name", "interfaces"]
    static let bridgeColumns = ["name", "ports"]

    /// Applies a `<table-updates>` object (a monitor reply or an `update` notification).
    mutating func apply(updates: [String: JSONValue]) {
        index = nil
        for (table, rows) in updates {
            guard let rows = rows.object else { continue }
            for (uuid, change) in rows {
                let new = change["new"]?.object
                switch table {
                case "Interface": interfaces[uuid] = new.map { Self.interface(uuid: uuid, $0) }
                case "Port": ports[uuid] = new.map { Self.container(uuid: uuid, $0, column: "interfaces") }
                case "Bridge": bridges[uuid] = new.map { Self.container(uuid: uuid, $0, column: "ports") }
                default: break
                }
            }
        }
    }

    static func interface(uuid: String, _ row: [String: JSONValue]) -> OVSInterfaceRow {
        OVSInterfaceRow(
            uuid: uuid, name: OVSDatum.string(row["name"]) ?? "", ofport: OVSDatum.integer(row["ofport"]),
            adminState: OVSDatum.string(row["admin_state"]), linkState: OVSDatum.string(row["link_state"]),
            error: OVSDatum.string(row["error"]), externalIDs: OVSDatum.map(row["external_ids"]),
            macInUse: OVSDatum.string(row["mac_in_use"]))
    }

    static func container(uuid: String, _ row: [String: JSONValue], column: String) -> OVSContainerRow {
        OVSContainerRow(uuid: uuid, name: OVSDatum.string(row["name"]) ?? "", members: OVSDatum.uuids(row[column]))
    }
}

/// Reading OVSDB's JSON notation (RFC 7047 5.1): atoms, `["set", [...]]`, `["map", [[k, v]...]]`, `["uuid", s]`.
enum OVSDatum {
    /// A `[tag, payload]` pair of the notation, nil for an atom.
    private static func tagged(_ value: JSONValue?) -> (tag: String, payload: JSONValue)? {
        guard let array = value?.array, array.count == 2, let tag = array[0].string else { return nil }
        return (tag, array[1])
    }

    /// The single atom of an optional column; nil for an empty set.
    private static func single(_ value: JSONValue?) -> JSONValue? {
        guard let (tag, payload) = tagged(value), tag == "set" else { return value }
        return payload.array?.first
    }

    static func string(_ value: JSONValue?) -> String? {
        single(value)?.string
    }

    static func integer(_ value: JSONValue?) -> Int? {
        single(value)?.integer
    }

    static func map(_ value: JSONValue?) -> [String: String] {
        guard let (tag, payload) = tagged(value), tag == "map", let pairs = payload.array else { return [:] }
        var result: [String: String] = [:]
        for pair in pairs.prefix(1024) {
            guard let pair = pair.array, pair.count == 2, let key = pair[0].string, let value = pair[1].string
            else { continue }
            result[key] = value
        }
        return result
    }

    static func uuids(_ value: JSONValue?) -> Set<String> {
        func uuid(_ atom: JSONValue) -> String? {
            guard let (tag, payload) = tagged(atom), tag == "uuid" else { return nil }
            return payload.string
        }
        guard let value, let (tag, payload) = tagged(value) else { return [] }
        if tag == "set", let members = payload.array { return Set(members.compactMap(uuid)) }
        return uuid(value).map { [$0] } ?? []
    }
}

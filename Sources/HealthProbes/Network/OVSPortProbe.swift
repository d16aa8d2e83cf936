import HealthCore
import HealthNetwork

/// `ovs.port`: the instance's tap port in Open vSwitch, from a live OVSDB view shared by the whole daemon.
///
/// Passed when the interface exists, sits in a port of the expected bridge (`br-int`), carries
/// `external_ids:iface-id=port-<eni-id>`, has an `ofport` above 0, admin and link state `up` and an empty `error`
/// column. Each of those missing is failed, all reasons in the message. When the database socket cannot be reached
/// the probe asks `ovs-vsctl --format=json` instead (`fallback`); when neither answers it is unknown.
public struct OVSPortProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "ovs.port", category: .instance, targets: [.instance],
        parameters: [
            ParameterSpec(
                "db_socket", .string, default: .string("/var/run/openvswitch/db.sock"),
                doc: "The OVSDB server's unix socket; one monitor per socket serves every check."),
            ParameterSpec("bridge", .string, default: .string("br-int"), doc: "The bridge the port must be on."),
            ParameterSpec(
                "interface", .string, default: .string("{{instance.tap}}"),
                doc: "The interface name (the instance's tap: tap + ENI id without eni-, 15 characters)."),
            ParameterSpec(
                "iface_id", .string, default: .string(""),
                doc:
                    "Expected external_ids:iface-id; empty means port-<eni-id> when the ENI is known, else not checked."
            ),
            ParameterSpec(
                "fallback", .boolean, default: .boolean(true),
                doc: "Ask ovs-vsctl --format=json when the socket cannot be reached."),
            ParameterSpec(
                "vsctl_db", .string, default: .string(""),
                doc: "The database ovs-vsctl uses in the fallback; empty means unix:<db_socket>."),
        ],
        timeoutClass: .network,
        summary: "the instance's tap port on br-int: present, iface-id, ofport > 0, admin/link up, no error")

    private let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) {
        self.environment = environment
    }

    public func observe(_ request: ProbeRequest) async -> Observation {
        let parameters = CheckParameters(
            request, descriptor: Self.descriptor, runtimeDirectory: environment.runtimeDirectory)
        let socket: String
        let bridge: String
        let interface: String
        let ifaceID: String?
        let fallback: Bool
        let vsctlDatabase: String
        do {
            socket = try parameters.string("db_socket") ?? "/var/run/openvswitch/db.sock"
            bridge = try parameters.string("bridge") ?? "br-int"
            interface = try parameters.string("interface") ?? ""
            let configured = try parameters.string("iface_id") ?? ""
            ifaceID = configured.isEmpty ? request.target.instance?.eniID.map { "port-" + $0 } : configured
            fallback = try parameters.boolean("fallback") ?? true
            let database = try parameters.string("vsctl_db") ?? ""
            vsctlDatabase = database.isEmpty ? "unix:" + socket : database
        } catch {
            return .unknown("\(error)")
        }
        guard !interface.isEmpty else {
            return .unknown("no tap interface known for \(request.target.id) (no ENI id, no 'interface' parameter)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        let budget = max(.milliseconds(100), request.timeout * 0.45)
        let monitor = OVSDBMonitor.shared(socketPath: socket, logger: environment.logger)
        switch await monitor.interface(named: interface, timeout: budget) {
        case .found(let status):
            let values = ["latency_seconds": (clock.now - start).seconds]
            return Self.judge(status, interface: interface, bridge: bridge, ifaceID: ifaceID, values: values)
        case .unavailable(let error):
            guard fallback else { return .unknown("OVSDB \(socket): \(error.message)") }
            switch await OVSVsctl.sharedTables(database: vsctlDatabase, timeout: budget) {
            case .success(var tables):
                let values = ["latency_seconds": (clock.now - start).seconds]
                let observation = Self.judge(
                    tables.status(ofInterface: interface), interface: interface, bridge: bridge, ifaceID: ifaceID,
                    values: values)
                return Observation(
                    outcome: observation.outcome, message: observation.message + " (via ovs-vsctl: \(error.message))",
                    values: values)
            case .failure(let vsctlError):
                return .unknown("OVSDB \(socket): \(error.message); fallback: \(vsctlError.message)")
            }
        }
    }

    static func judge(
        _ status: OVSInterfaceStatus?, interface: String, bridge: String, ifaceID: String?, values: [String: Double]
    ) -> Observation {
        guard let status else { return .failed("\(interface): no such interface in OVS", values: values) }
        var problems: [String] = []
        switch status.bridge {
        case bridge?: break
        case nil: problems.append(status.port == nil ? "in no port" : "port \(status.port ?? "") is on no bridge")
        case let other?: problems.append("on bridge \(other), not \(bridge)")
        }
        let row = status.interface
        if let ifaceID {
            let actual = row.externalIDs["iface-id"]
            if actual != ifaceID { problems.append("iface-id \(actual ?? "(none)"), expected \(ifaceID)") }
        }
        if let error = row.error, !error.isEmpty { problems.append("error \"\(error.prefix(200))\"") }
        switch row.ofport {
        case nil: problems.append("no ofport (not opened by ovs-vswitchd)")
        case let port? where port <= 0: problems.append("ofport \(port) (the device could not be opened)")
        default: break
        }
        if row.adminState != "up" { problems.append("admin state \(row.adminState ?? "unknown")") }
        if row.linkState != "up" { problems.append("link state \(row.linkState ?? "unknown")") }
        var measured = values
        if let port = row.ofport { measured["ofport"] = Double(port) }
        if problems.isEmpty {
            return .passed("\(interface) on \(bridge), ofport \(row.ofport ?? 0), up", values: measured)
        }
        return .failed("\(interface): " + problems.joined(separator: "; "), values: measured)
    }
}

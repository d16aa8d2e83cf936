import HealthCore
import HealthNetwork
import ProbeKit

/// `ovs.port`: the instance's network ports in Open vSwitch, from a live OVSDB view shared by the whole daemon.
///
/// Two layouts are recognised, by where the primary ENI's tap sits:
/// - Spinifex (spinifex/network/host/imds_patch.go, imds_datapath.go at ddf22cac): the tap is on `br-imds`
///   (`imds_bridge`), and the OVN binding sits on the br-int end of its patch pair, `imi-<fnv32a(eni) as 8 hex>`:
///   that port must be on `br-int` with `external_ids:iface-id=port-<eni-id>` and `attached-mac` = the ENI's MAC.
/// - Hive era: the tap itself is on `br-int` carrying the iface-id.
///
/// Every tap must have an `ofport` above 0, admin and link state `up` and an empty `error` column; the patch port an
/// `ofport` above 0 and no error. Secondary ENIs (`extra_enis`) are taps on `br-int` with their own iface-id. Each
/// problem is failed, all reasons in the message. When the database socket cannot be reached the probe asks
/// `ovs-vsctl --format=json` instead (`fallback`); when neither answers it is unknown.
public struct OVSPortProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "ovs.port", category: .instance, targets: [.instance],
        parameters: [
            ParameterSpec(
                "db_socket", .string, default: .string("/var/run/openvswitch/db.sock"),
                doc: "The OVSDB server's unix socket; one monitor per socket serves every check."),
            ParameterSpec("bridge", .string, default: .string("br-int"), doc: "The bridge the port must be on."),
            ParameterSpec(
                "imds_bridge", .string, default: .string("br-imds"),
                doc: "Spinifex's IMDS bridge: a primary tap there has its OVN binding on the imi- patch port."),
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
        summary: "the instance's ports: tap on br-int (or br-imds + imi- patch on br-int), iface-id, ofport, up")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (
        socket: String, expected: Expected, interface: String, fallback: Bool, vsctlDatabase: String
    )

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (socket, expected, interface, fallback, vsctlDatabase) = settings
        guard !interface.isEmpty else {
            return .unknown("no tap interface known for \(request.target.id) (no ENI id, no 'interface' parameter)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        let budget = max(.milliseconds(100), request.timeout * 0.45)
        let monitor = environment.ovsdbMonitor(socketPath: socket)
        switch await monitor.interface(named: interface, timeout: budget) {
        case .found(let status):
            var statuses = [interface: status]
            for name in expected.otherInterfaces(primary: status) {
                if case .found(let other) = await monitor.interface(named: name, timeout: budget) {
                    statuses[name] = other
                }
            }
            let values = ["latency_seconds": (clock.now - start).seconds]
            return Self.judge(statuses, interface: interface, expected: expected, values: values)
        case .unavailable(let error):
            guard fallback else { return .unknown("OVSDB \(socket): \(error.message)") }
            switch await OVSVsctl.sharedTables(database: vsctlDatabase, timeout: budget) {
            case .success(var tables):
                let primary = tables.status(ofInterface: interface)
                var statuses = [interface: primary]
                for name in expected.otherInterfaces(primary: primary) {
                    statuses[name] = tables.status(ofInterface: name)
                }
                let values = ["latency_seconds": (clock.now - start).seconds]
                let observation = Self.judge(statuses, interface: interface, expected: expected, values: values)
                return Observation(
                    outcome: observation.outcome, message: observation.message + " (via ovs-vsctl: \(error.message))",
                    values: values)
            case .failure(let vsctlError):
                return .unknown("OVSDB \(socket): \(error.message); fallback: \(vsctlError.message)")
            }
        }
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let socket = try parameters.string("db_socket") ?? "/var/run/openvswitch/db.sock"
        let interface = try parameters.string("interface") ?? ""
        let configured = try parameters.string("iface_id") ?? ""
        let instance = request.target.instance
        let expected = Expected(
            bridge: try parameters.string("bridge") ?? "br-int",
            imdsBridge: try parameters.string("imds_bridge") ?? "br-imds",
            eniID: instance?.eniID, eniMAC: instance?.eniMAC,
            ifaceID: configured.isEmpty ? instance?.eniID.map { "port-" + $0 } : configured,
            extraENIs: instance?.extraENIs ?? [])
        let fallback = try parameters.boolean("fallback") ?? true
        let database = try parameters.string("vsctl_db") ?? ""
        let vsctlDatabase = database.isEmpty ? "unix:" + socket : database
        return (socket, expected, interface, fallback, vsctlDatabase)
    }

    /// What the instance's ports should look like.
    public struct Expected: Sendable {
        var bridge: String
        var imdsBridge: String
        var eniID: String?
        var eniMAC: String?
        var ifaceID: String?
        var extraENIs: [InstanceInfo.ExtraENI]

        /// The br-int end of the primary tap's IMDS patch pair, when the ENI is known.
        var patchPort: String? { eniID.map { "imi-" + OVSPortProbe.fnv32aHex($0) } }

        /// The other interfaces to read: the patch port when the tap is on the IMDS bridge, the secondary taps.
        func otherInterfaces(primary: OVSInterfaceStatus??) -> [String] {
            var names: [String] = []
            if case .some(.some(let status)) = primary, status.bridge == imdsBridge, let patchPort {
                names.append(patchPort)
            }
            return names + extraENIs.map(\.tapDevice)
        }
    }

    /// spinifex/network/host/imds_datapath.go `shortENIID`: FNV-32a of the whole ENI id, 8 lower-case hex digits.
    public static func fnv32aHex(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    static func judge(
        _ statuses: [String: OVSInterfaceStatus?], interface: String, expected: Expected, values: [String: Double]
    ) -> Observation {
        guard let tap = statuses[interface] ?? nil else {
            return .failed("\(interface): no such interface in OVS", values: values)
        }
        var measured = values
        if let port = tap.interface.ofport { measured["ofport"] = Double(port) }
        var problems: [String] = []
        let summary: String
        if tap.bridge == expected.imdsBridge, let patch = expected.patchPort {
            // Spinifex: the tap on br-imds, the binding on the imi- patch port on br-int.
            problems += deviceProblems(tap, bridge: expected.imdsBridge, ifaceID: nil).map { "\(interface): \($0)" }
            if let status = statuses[patch] ?? nil {
                var patchProblems = deviceProblems(
                    status, bridge: expected.bridge, ifaceID: expected.ifaceID, link: false)
                if let mac = expected.eniMAC {
                    let attached = status.interface.externalIDs["attached-mac"]
                    if attached?.lowercased() != mac.lowercased() {
                        patchProblems.append("attached-mac \(attached ?? "(none)"), expected \(mac)")
                    }
                }
                problems += patchProblems.map { "patch \(patch): \($0)" }
            } else {
                problems.append("patch \(patch): no such interface in OVS (the IMDS patch to \(expected.bridge))")
            }
            summary = "\(interface) on \(expected.imdsBridge) and \(patch) on \(expected.bridge)"
        } else {
            problems += deviceProblems(tap, bridge: expected.bridge, ifaceID: expected.ifaceID)
                .map { "\(interface): \($0)" }
            summary = "\(interface) on \(expected.bridge)"
        }
        for eni in expected.extraENIs {
            let name = eni.tapDevice
            guard let status = statuses[name] ?? nil else {
                problems.append("\(name) (\(eni.eniID)): no such interface in OVS")
                continue
            }
            problems += deviceProblems(status, bridge: expected.bridge, ifaceID: "port-" + eni.eniID)
                .map { "\(name) (\(eni.eniID)): \($0)" }
        }
        if problems.isEmpty {
            let extra = expected.extraENIs.isEmpty ? "" : ", \(expected.extraENIs.count) secondary ENI(s)"
            return .passed("\(summary), ofport \(tap.interface.ofport ?? 0), up\(extra)", values: measured)
        }
        return .failed(problems.joined(separator: "; "), values: measured)
    }

    /// What is wrong with one interface: its bridge, iface-id, error, ofport and (for devices, not patch ports)
    /// admin and link state.
    static func deviceProblems(
        _ status: OVSInterfaceStatus, bridge: String, ifaceID: String?, link: Bool = true
    ) -> [String] {
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
        if link {
            if row.adminState != "up" { problems.append("admin state \(row.adminState ?? "unknown")") }
            if row.linkState != "up" { problems.append("link state \(row.linkState ?? "unknown")") }
        }
        return problems
    }
}

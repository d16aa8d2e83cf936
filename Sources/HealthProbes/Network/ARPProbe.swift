import Foundation
import HealthCore
import HealthNetwork
import ProbeKit

/// `net.arp`: ARP resolution of the instance's private IP (or, on the node target, the gateway) over an AF_PACKET
/// socket on the interface that reaches it, independent of the kernel's neighbour cache.
///
/// Failed when nothing answers, when the interface is down, or when the answer comes from another MAC than the
/// ENI's (both MACs in the message). Unknown for the probe's own trouble (no permission, no such interface).
public struct ARPProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "net.arp", category: .instance, targets: [.instance, .node],
        parameters: [
            ParameterSpec(
                "address", .string, default: .string(""),
                doc: "The IPv4 address to resolve; empty means the instance's private IP, on the node the gateway."),
            ParameterSpec(
                "interface", .string, default: .string(""),
                doc: "The interface to ask on; empty means the route's interface when the address is on-link, else the "
                    + "instance's tap."),
            ParameterSpec(
                "expected_mac", .string, default: .string(""),
                doc: "The MAC that must answer; empty means the instance's ENI MAC when known, else any."),
            ParameterSpec("attempts", .integer, default: .integer(3), range: 1...10, doc: "ARP requests sent."),
            NetworkTargets.netnsParameter,
        ],
        timeoutClass: .network,
        summary: "ARP request for the instance IP (or gateway) on its interface; the reply's MAC vs the ENI MAC")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (
        address: String, interface: String, expected: String?, attempts: Int, namespace: String
    )

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (_, _, expected, attempts, namespace) = settings
        var (address, interface) = (settings.address, settings.interface)
        var routes: RouteTable?
        let environment = self.environment
        func table() -> RouteTable {
            if let routes { return routes }
            let read = NetworkTargets.routes(namespace: namespace, environment: environment)
            routes = read
            return read
        }
        if address.isEmpty {
            if let ip = request.target.instance?.privateIP, !ip.isEmpty {
                address = ip
            } else if request.target.kind == .node, let gateway = table().defaultGateway {
                address = gateway.address
                if interface.isEmpty { interface = gateway.interface }
            } else {
                return .unknown("no address to resolve for \(request.target.id) (no private IP, no default gateway)")
            }
        }
        if interface.isEmpty {
            // The route's interface when the address is on-link; else the instance's tap, the wire to its NIC.
            if let route = table().route(to: address), route.gateway == nil {
                interface = route.interface
            } else if let tap = request.target.instance?.tapDevice {
                interface = tap
            } else if let route = table().route(to: address), let gateway = route.gateway {
                return .unknown("\(address) is not on-link (via \(gateway) on \(route.interface)): set 'interface'")
            } else {
                return .unknown("no route to \(address) and no tap known: set 'interface'")
            }
        }
        let timeout = max(.milliseconds(100), request.timeout * 0.8)
        let answer = await ARPResolver.resolve(
            address, interface: interface, timeout: timeout, attempts: attempts,
            namespace: namespace.isEmpty ? nil : namespace)
        switch answer {
        case .failure(let error):
            return .unknown("ARP \(address) on \(interface): \(error.message)")
        case .success(.noReply(let attempts)):
            return .failed("no ARP reply from \(address) on \(interface) after \(attempts) requests")
        case .success(.interfaceDown(let reason)):
            return .failed("cannot ARP for \(address): \(reason)")
        case .success(.reply(let mac, let latency)):
            let values = ["latency_seconds": latency.seconds]
            if let expected, !expected.isEmpty, Self.normalised(expected) != mac {
                return .failed(
                    "\(address) answered from MAC \(mac), expected \(Self.normalised(expected)) (the ENI's)",
                    values: values)
            }
            return .passed(
                "\(address) is at \(mac) on \(interface) (\(NetworkTargets.milliseconds(latency)))", values: values)
        }
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let namespace = try parameters.string("netns") ?? ""
        let address = try parameters.string("address") ?? ""
        let interface = try parameters.string("interface") ?? ""
        let configured = try parameters.string("expected_mac") ?? ""
        let expected = configured.isEmpty ? request.target.instance?.eniMAC : configured
        let attempts = try parameters.integer("attempts") ?? 3
        return (address, interface, expected, attempts, namespace)
    }

    /// `AA-BB-CC-DD-EE-FF` or `aa:bb:...` as lower-case colon-separated.
    static func normalised(_ mac: String) -> String {
        mac.lowercased().replacingOccurrences(of: "-", with: ":")
    }
}

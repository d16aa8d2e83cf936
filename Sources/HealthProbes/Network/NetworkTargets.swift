import Foundation
import HealthCore
import HealthNetwork

/// What the network probes share: the addresses a run looks at and the route table of the namespace it runs in.
enum NetworkTargets {
    static let netnsParameter = ParameterSpec(
        "netns", .string, default: .string(""),
        doc: "Run inside this named network namespace (ip netns); empty means the daemon's own.")

    /// The route table of `namespace` (read from inside it), or the host's under `environment`'s root.
    static func routes(namespace: String, environment: ProbeEnvironment) -> RouteTable {
        guard !namespace.isEmpty else { return RouteTable.read(path: environment.hostPath("/proc/net/route")) }
        return (try? NetworkNamespace.run(in: namespace) { RouteTable.read(path: "/proc/thread-self/net/route") })
            ?? RouteTable(routes: [])
    }

    /// The addresses to look at: `address` (else the instance's private IP), the extra `addresses`, and for
    /// `gateway` the default gateway.
    static func addresses(
        address: String, extra: [String], gateway: Bool, request: ProbeRequest, routes: () -> RouteTable
    ) -> [String] {
        var result: [String] = []
        let primary = address.isEmpty ? (request.target.instance?.privateIP ?? "") : address
        if !primary.isEmpty { result.append(primary) }
        for item in extra where !item.isEmpty && !result.contains(item) { result.append(item) }
        if gateway, let found = routes().defaultGateway, !result.contains(found.address) {
            result.append(found.address)
        }
        return result
    }

    static func milliseconds(_ duration: Duration) -> String {
        let value = duration.seconds * 1000
        return value < 10 ? String(format: "%.2f ms", value) : String(format: "%.1f ms", value)
    }
}

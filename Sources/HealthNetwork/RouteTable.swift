import Foundation
import HealthIO

/// The kernel's IPv4 routing table as `/proc/net/route` shows it: which interface reaches an address, and the
/// default gateway.
public struct RouteTable: Sendable, Hashable {
    /// One route.
    public struct Route: Sendable, Hashable {
        public var interface: String
        public var destination: [UInt8]
        public var mask: [UInt8]
        /// Nil for an on-link route.
        public var gateway: String?
        public var metric: Int

        var prefixLength: Int { mask.reduce(0) { $0 + $1.nonzeroBitCount } }

        func contains(_ address: [UInt8]) -> Bool {
            zip(zip(address, destination), mask).allSatisfy { pair, mask in pair.0 & mask == pair.1 & mask }
        }
    }

    public var routes: [Route]

    public init(routes: [Route]) {
        self.routes = routes
    }

    /// Reads `path` (`/proc/net/route`, or a fixture), at most 1 MiB; an unreadable file is an empty table.
    public static func read(path: String = "/proc/net/route") -> RouteTable {
        guard let data = try? BoundedFile.prefix(path, limit: 1 << 20) else { return RouteTable(routes: []) }
        return parse(String(decoding: data, as: UTF8.self))
    }

    static func parse(_ text: String) -> RouteTable {
        var routes: [Route] = []
        for line in text.split(separator: "\n").dropFirst().prefix(100_000) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = hexAddress(fields[1]), let gateway = hexAddress(fields[2]),
                let flags = Int(fields[3], radix: 16), let metric = Int(fields[6]), let mask = hexAddress(fields[7])
            else { continue }
            // RTF_UP (1); RTF_GATEWAY (2) says the gateway field is meaningful.
            guard flags & 1 != 0 else { continue }
            let via = flags & 2 != 0 ? IPAddress(v4: gateway).description : nil
            routes.append(
                Route(interface: String(fields[0]), destination: destination, mask: mask, gateway: via, metric: metric))
        }
        return RouteTable(routes: routes)
    }

    /// `/proc/net/route` writes addresses as host-order (little-endian) hex.
    private static func hexAddress(_ field: Substring) -> [UInt8]? {
        guard field.count == 8, let value = UInt32(field, radix: 16) else { return nil }
        return [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }

    /// The route the kernel would pick for `address`: the longest prefix, then the lowest metric.
    public func route(to address: String) -> Route? {
        guard let parsed = IPAddress(address), parsed.family == .v4 else { return nil }
        return routes.filter { $0.contains(parsed.bytes) }.min { a, b in
            a.prefixLength != b.prefixLength ? a.prefixLength > b.prefixLength : a.metric < b.metric
        }
    }

    /// The default route's gateway, if there is one.
    public var defaultGateway: (address: String, interface: String)? {
        let defaults = routes.filter { $0.prefixLength == 0 && $0.gateway != nil }.min { $0.metric < $1.metric }
        return defaults.flatMap { route in route.gateway.map { ($0, route.interface) } }
    }
}

import Foundation

/// Two network namespaces of a test's own, `hh-<random>-h` (the "host" side, where probes run) and
/// `hh-<random>-i` (the "instance"), joined by a veth pair with addresses in 10.231.0.0/24 that exist only inside
/// them. Traffic never leaves them. ``remove()`` deletes both (and with them the veth pair), on every path.
public final class NetworkNamespaceFixture: Sendable {
    public let host: String
    public let instance: String
    /// The host side's veth and address.
    public let hostInterface = "hhv-host"
    public let hostAddress = "10.231.0.1"
    /// The instance side's veth, address and MAC.
    public let instanceInterface = "hhv-inst"
    public let instanceAddress = "10.231.0.2"
    public let instanceMAC = "02:00:00:aa:bb:cc"
    public let hostAddress6 = "fd00:231::1"
    public let instanceAddress6 = "fd00:231::2"

    public init() throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        host = "hh-\(tag)-h"
        instance = "hh-\(tag)-i"
        do {
            try Self.ip(["netns", "add", host])
            try Self.ip(["netns", "add", instance])
            // No duplicate address detection: IPv6 neighbours answer at once instead of after a second.
            for namespace in [host, instance] {
                try Self.exec(namespace, ["sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0"])
                try Self.exec(namespace, ["sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0"])
            }
            try Self.ip(["-n", host, "link", "set", "lo", "up"])
            try Self.ip(["-n", instance, "link", "set", "lo", "up"])
            try Self.ip([
                "-n", host, "link", "add", hostInterface, "type", "veth", "peer", "name", instanceInterface, "netns",
                instance,
            ])
            try Self.ip(["-n", instance, "link", "set", instanceInterface, "address", instanceMAC])
            try Self.ip(["-n", host, "addr", "add", hostAddress + "/24", "dev", hostInterface])
            try Self.ip(["-n", instance, "addr", "add", instanceAddress + "/24", "dev", instanceInterface])
            try Self.ip(["-n", host, "addr", "add", hostAddress6 + "/64", "dev", hostInterface, "nodad"])
            try Self.ip(["-n", instance, "addr", "add", instanceAddress6 + "/64", "dev", instanceInterface, "nodad"])
            try Self.ip(["-n", host, "link", "set", hostInterface, "up"])
            try Self.ip(["-n", instance, "link", "set", instanceInterface, "up"])
            // A default route inside the host namespace only, so gateway lookups have something to find.
            try Self.ip(["-n", host, "route", "add", "default", "via", instanceAddress])
            // The kernel reports the carrier a moment after both ends are up.
            try waitForCarrier(namespace: host, interface: hostInterface)
            try waitForCarrier(namespace: instance, interface: instanceInterface)
        } catch {
            remove()
            throw error
        }
    }

    /// Waits (at most 10 s) until `interface` in `namespace` has its carrier (LOWER_UP), or with `present: false`
    /// until it has lost it (the kernel tells a veth end its peer went down a moment later, not at once).
    public func waitForCarrier(namespace: String, interface: String, present: Bool = true) throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            let line = try Self.ip(["-n", namespace, "-o", "link", "show", interface])
            let up = line.contains("LOWER_UP") && line.contains("state UP")
            if up == present { return }
            usleep(10_000)
        }
        throw OVSDBFixture.Failure(
            "\(interface) in \(namespace) \(present ? "has no carrier" : "still has its carrier") after 10 s")
    }

    /// Deletes both namespaces (idempotent).
    public func remove() {
        _ = try? Self.ip(["netns", "del", host])
        _ = try? Self.ip(["netns", "del", instance])
    }

    /// `ip -n <instance> ...`.
    public func inInstance(_ arguments: [String]) throws {
        try Self.ip(["-n", instance] + arguments)
    }

    /// `ip -n <host> ...`.
    public func inHost(_ arguments: [String]) throws {
        try Self.ip(["-n", host] + arguments)
    }

    /// Runs `ip` (bounded: it does not wait on anything), throwing with its stderr on failure.
    @discardableResult
    public static func ip(_ arguments: [String]) throws -> String {
        try OVSDBFixture.run("ip", arguments)
    }

    /// `ip netns exec <namespace> <command...>`.
    @discardableResult
    public static func exec(_ namespace: String, _ command: [String]) throws -> String {
        try OVSDBFixture.run("ip", ["netns", "exec", namespace] + command)
    }
}

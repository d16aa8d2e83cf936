import Foundation
import HealthCore
import HealthNetwork
import HealthProbes
import HealthTestKit
import Testing

@Suite("net.icmp and the shared pinger inside test namespaces", .serialized)
struct ICMPTests {
    let probe = ICMPProbe(environment: ProbeEnvironment(logger: testLogger))

    func observe(_ network: NetworkNamespaceFixture, _ extra: [String: ParameterValue] = [:]) async -> Observation {
        var parameters: [String: ParameterValue] = [
            "netns": .string(network.host), "interval": .duration(.milliseconds(20)),
        ]
        parameters.merge(extra) { $1 }
        return await probe.observe(
            instanceRequest("net.icmp", ip: network.instanceAddress, parameters: parameters, timeout: .seconds(1)))
    }

    @Test("a reachable instance passes (IPv4 and IPv6, raw socket) with round-trip times")
    func reachable() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        let pinger = Pinger(namespace: network.host, logger: testLogger)
        let summary = try await pinger.ping(
            network.instanceAddress, count: 3, interval: .milliseconds(10), timeout: .seconds(1)
        ).get()
        #expect(summary.received == 3 && summary.socketKind == .raw, "\(summary)")
        #expect((summary.averageRoundTrip ?? .zero) > .zero)
        // A fresh veth's first IPv6 neighbour resolution takes about a second: ask until it answers.
        var six: Pinger.Summary?
        let answered = await eventually(timeout: .seconds(10), poll: .milliseconds(10)) {
            six = try? await pinger.ping(network.instanceAddress6, timeout: .milliseconds(500)).get()
            return six?.received == 1
        }
        #expect(answered, "\(String(describing: six))")

        let seen = await observe(network)
        #expect(seen.outcome == .passed, "\(seen.message)")
        #expect(seen.values["loss_ratio"] == 0)
        #expect(seen.values["rtt_avg_seconds"] != nil)
    }

    @Test("link down, address removed, neighbour gone: failed with the address and the loss")
    func faults() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        var seen = await observe(network)
        #expect(seen.outcome == .passed, "\(seen.message)")

        try network.inInstance(["link", "set", network.instanceInterface, "down"])
        seen = await observe(network)
        #expect(seen.outcome == .failed, "\(seen.message)")
        #expect(seen.message.contains(network.instanceAddress) && seen.message.contains("100% loss"), "\(seen.message)")
        try network.inInstance(["link", "set", network.instanceInterface, "up"])
        let back = await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
            await observe(network).outcome == .passed
        }
        #expect(back)

        try network.inInstance(["addr", "del", network.instanceAddress + "/24", "dev", network.instanceInterface])
        seen = await observe(network)
        #expect(seen.outcome == .failed && seen.message.contains("0/3 replies"), "\(seen.message)")

        // The instance's namespace (and with it the veth pair) gone: the host has no route left.
        try NetworkNamespaceFixture.ip(["netns", "del", network.instance])
        seen = await observe(network)
        #expect(seen.outcome == .failed, "\(seen.message)")
    }

    @Test("node target: the default gateway and peers from params, each failing address named")
    func nodeTarget() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        let request = { (parameters: [String: ParameterValue]) in
            ProbeRequest(
                checkName: "net.icmp.node", target: .node(NodeInfo(name: "node1")), node: NodeInfo(name: "node1"),
                parameters: ProbeParameters(parameters), timeout: .seconds(1), logger: testLogger)
        }
        var seen = await probe.observe(
            request([
                "netns": .string(network.host), "gateway": .boolean(true), "interval": .duration(.milliseconds(20)),
            ]))
        #expect(seen.outcome == .passed && seen.message.contains(network.instanceAddress), "\(seen.message)")
        seen = await probe.observe(
            request([
                "netns": .string(network.host), "gateway": .boolean(true), "addresses": .stringList(["10.231.0.99"]),
                "interval": .duration(.milliseconds(20)),
            ]))
        #expect(seen.outcome == .failed && seen.message.contains("10.231.0.99"), "\(seen.message)")
        #expect(!seen.message.contains("\(network.instanceAddress):"), "\(seen.message)")
        seen = await probe.observe(request(["netns": .string(network.instance)]))
        #expect(seen.outcome == .unknown && seen.message.contains("no address"), "\(seen.message)")
    }

    @Test("unprivileged datagram sockets where ping_group_range allows them; else unknown, needs CAP_NET_RAW")
    func datagramFallback() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        // ping_group_range is per network namespace: the default ("1 0") allows nobody.
        let refused = Pinger(namespace: network.host, preferred: .datagram, logger: testLogger)
        let failure = await refused.ping(network.instanceAddress, timeout: .milliseconds(500))
        guard case .failure(let error) = failure else {
            Issue.record("datagram ICMP opened with ping_group_range 1 0: \(failure)")
            return
        }
        #expect(error.code == .permission && error.message.contains("CAP_NET_RAW"), "\(error)")

        try NetworkNamespaceFixture.exec(
            network.host, ["sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647"])
        let pinger = Pinger(namespace: network.host, preferred: .datagram, logger: testLogger)
        let summary = try await pinger.ping(
            network.instanceAddress, count: 2, interval: .milliseconds(10), timeout: .seconds(1)
        ).get()
        #expect(summary.socketKind == .datagram && summary.received == 2, "\(summary)")
    }

    @Test("500 targets share one socket: all answer in one round, no thread or socket per target")
    func manyTargets() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        var addresses: [String] = []
        for index in 0..<500 { addresses.append("10.232.\(index / 250).\(index % 250 + 1)") }
        let batch = addresses.map { "address add \($0)/32 dev \(network.instanceInterface)" }.joined(separator: "\n") + "\n"
        let file = FileManager.default.temporaryDirectory.appending(path: "hh-batch-\(UUID().uuidString)")
        try Data(batch.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try NetworkNamespaceFixture.ip(["-n", network.instance, "-batch", file.path])
        try network.inHost(["route", "add", "10.232.0.0/16", "via", network.instanceAddress])
        let pinger = Pinger(namespace: network.host, sendInterval: .microseconds(100), logger: testLogger)
        let clock = ContinuousClock()
        let start = clock.now
        let results = await pinger.ping(all: addresses, count: 1, timeout: .seconds(2))
        let answered = results.filter { (try? $0.get().received) == 1 }.count
        #expect(answered == 500, "\(answered) of 500 answered")
        #expect(clock.now - start < .seconds(5))
    }

    @Test("one round of mixed addresses: each result in its place (IPv4, IPv6, unanswered, malformed)")
    func mixedRound() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        let pinger = Pinger(namespace: network.host, logger: testLogger)
        // A fresh veth's first IPv6 neighbour resolution takes about a second: wait until it answers.
        let warm = await eventually(timeout: .seconds(10), poll: .milliseconds(10)) {
            (try? await pinger.ping(network.instanceAddress6, timeout: .milliseconds(500)).get())?.received == 1
        }
        #expect(warm)
        // 192.0.2.1 (TEST-NET-1) has no route in the host namespace beyond the veth's: nothing answers it.
        try network.inHost(["route", "add", "192.0.2.1/32", "dev", network.hostInterface])
        let addresses = [network.instanceAddress, "not-an-address", network.instanceAddress6, "192.0.2.1"]
        let results = await pinger.ping(all: addresses, count: 2, interval: .milliseconds(10), timeout: .milliseconds(300))
        #expect(results.count == 4)
        let v4 = try results[0].get()
        #expect(v4.address == network.instanceAddress && v4.sent == 2 && v4.received == 2, "\(v4)")
        guard case .failure(let error) = results[1] else {
            Issue.record("a malformed address must fail alone: \(results[1])")
            return
        }
        #expect(error.code == .invalid && error.message.contains("not-an-address"))
        let v6 = try results[2].get()
        #expect(v6.address == network.instanceAddress6 && v6.received == 2, "\(v6)")
        let lost = try results[3].get()
        #expect(lost.address == "192.0.2.1" && lost.sent == 2 && lost.received == 0, "\(lost)")
    }
}

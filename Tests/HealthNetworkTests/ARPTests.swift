import Foundation
import HealthCore
import HealthNetwork
import HealthProbes
import HealthTestKit
import Testing

@Suite("net.arp over AF_PACKET inside test namespaces", .serialized)
struct ARPTests {
    let probe = ARPProbe(environment: ProbeEnvironment(logger: testLogger))

    func observe(
        _ network: NetworkNamespaceFixture, mac: String? = nil, _ extra: [String: ParameterValue] = [:]
    ) async -> Observation {
        var parameters: [String: ParameterValue] = ["netns": .string(network.host)]
        parameters.merge(extra) { $1 }
        return await probe.observe(
            instanceRequest(
                "net.arp", mac: mac, ip: network.instanceAddress, parameters: parameters, timeout: .seconds(1)))
    }

    @Test("the instance answers from its ENI MAC on the routed interface: passed")
    func resolves() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        let answer = try await ARPResolver.resolve(
            network.instanceAddress, interface: network.hostInterface, timeout: .seconds(1), namespace: network.host
        ).get()
        guard case .reply(let mac, _) = answer else {
            Issue.record("\(answer)")
            return
        }
        #expect(mac == network.instanceMAC)
        let seen = await observe(network, mac: network.instanceMAC.uppercased())
        #expect(seen.outcome == .passed && seen.message.contains(network.hostInterface), "\(seen.message)")
    }

    @Test("another MAC answering fails with both MACs; no answer, link down and no interface are told apart")
    func faults() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        var seen = await observe(network, mac: "02:00:00:00:00:01")
        #expect(seen.outcome == .failed, "\(seen.message)")
        #expect(
            seen.message.contains(network.instanceMAC) && seen.message.contains("02:00:00:00:00:01"), "\(seen.message)")

        seen = await observe(network, ["interface": .string("hh-nosuch")])
        #expect(seen.outcome == .unknown && seen.message.contains("hh-nosuch"), "\(seen.message)")

        try network.inInstance(["addr", "del", network.instanceAddress + "/24", "dev", network.instanceInterface])
        seen = await observe(network, mac: network.instanceMAC)
        #expect(seen.outcome == .failed && seen.message.contains("no ARP reply"), "\(seen.message)")

        try network.inInstance(["link", "set", network.instanceInterface, "down"])
        try await offCooperativePool {
            try network.waitForCarrier(namespace: network.host, interface: network.hostInterface, present: false)
        }
        seen = await observe(network, mac: network.instanceMAC)
        #expect(seen.outcome == .failed && seen.message.contains("carrier"), "\(seen.message)")
        try network.inHost(["link", "set", network.hostInterface, "down"])
        seen = await observe(network, mac: network.instanceMAC, ["interface": .string(network.hostInterface)])
        #expect(seen.outcome == .failed && seen.message.contains("down"), "\(seen.message)")
    }

    @Test("node target: resolves the default gateway found in the namespace's routing table")
    func gateway() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        let request = ProbeRequest(
            checkName: "net.arp.gateway", target: .node(NodeInfo(name: "node1")), node: NodeInfo(name: "node1"),
            parameters: ProbeParameters(["netns": .string(network.host)]), timeout: .seconds(1), logger: testLogger)
        let seen = await probe.observe(request)
        #expect(seen.outcome == .passed && seen.message.contains(network.instanceMAC), "\(seen.message)")
    }
}

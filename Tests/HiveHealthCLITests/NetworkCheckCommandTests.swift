import Foundation
import HealthTestKit
import Testing

@Suite("hive-health check: net.icmp, net.arp and ovs.port against a test namespace and a real ovsdb-server")
struct NetworkCheckCommandTests {
    static func checks(namespace: String, socket: String) -> String {
        """
        checks:
          - name: net.icmp
            probe: net.icmp
            target: instance
            params: {netns: \(namespace), interval: 20ms}
          - name: net.arp
            probe: net.arp
            target: instance
            params: {netns: \(namespace)}
          - name: ovs.port
            probe: ovs.port
            target: instance
            params: {db_socket: "\(socket)", fallback: false}
        """
    }

    @Test("a reachable instance passes all three; port and link faults fail the right checks, naming the cause")
    func reachableInstance() async throws {
        let network = try NetworkNamespaceFixture()
        defer { network.remove() }
        let ovs = try await OVSDBFixture()
        defer { ovs.stop() }
        let tap = "tap0abc1234"
        try ovs.addHealthyPort(tap, eni: "eni-0abc1234")
        let folder = ovs.folder
        try FileManager.default.createDirectory(atPath: folder.file("checks.d"), withIntermediateDirectories: true)
        try Data(Self.checks(namespace: network.host, socket: ovs.socket).utf8)
            .write(to: URL(fileURLWithPath: folder.file("checks.d/net.yaml")))
        let inventory = folder.file("instances.json")
        try Data(
            """
            {"vms": {"i-0net": {"id": "i-0net", "status": "running", "eni_id": "eni-0abc1234",
              "eni_mac": "\(network.instanceMAC)", "instance": {"PrivateIpAddress": "\(network.instanceAddress)"}}}}
            """.utf8
        ).write(to: URL(fileURLWithPath: inventory))
        let arguments = [
            "check", "--format", "json", "--checks", folder.file("checks.d"), "--inventory", "file:\(inventory)",
            "--state-dir", folder.file("state"),
        ]
        func run() async throws -> (Int32, [String: (String, String)]) {
            let result = try await HiveHealthBinary.run(arguments)
            let object = try #require(
                try jsonObject(result.stdout) as? [String: Any], "\(result.stdout)\(result.stderr)")
            let instance = try #require((object["instances"] as? [[String: Any]])?.first)
            let category = try #require(instance["instance"] as? [String: Any])
            let checks = try #require(category["checks"] as? [[String: Any]])
            var statuses: [String: (String, String)] = [:]
            for check in checks {
                if let name = check["name"] as? String {
                    statuses[name] = (check["status"] as? String ?? "", check["message"] as? String ?? "")
                }
            }
            return (result.status, statuses)
        }

        var (status, checks) = try await run()
        for name in ["net.icmp", "net.arp", "ovs.port"] {
            #expect(checks[name]?.0 == "passed", "\(name): \(checks[name] ?? ("missing", ""))")
        }
        #expect(status == 0)

        try ovs.vsctl(["set", "Interface", tap, "ofport=-1"])
        (status, checks) = try await run()
        #expect(checks["ovs.port"]?.0 == "failed" && checks["ovs.port"]?.1.contains("ofport -1") == true, "\(checks)")
        #expect(checks["net.icmp"]?.0 == "passed" && checks["net.arp"]?.0 == "passed", "\(checks)")
        #expect(status == 1)

        try ovs.vsctl(["set", "Interface", tap, "ofport=7"])
        try network.inInstance(["link", "set", network.instanceInterface, "down"])
        try await offCooperativePool {
            try network.waitForCarrier(namespace: network.host, interface: network.hostInterface, present: false)
        }
        (status, checks) = try await run()
        #expect(checks["ovs.port"]?.0 == "passed", "\(checks)")
        #expect(checks["net.icmp"]?.0 == "failed" && checks["net.icmp"]?.1.contains("100% loss") == true, "\(checks)")
        #expect(checks["net.arp"]?.0 == "failed" && checks["net.arp"]?.1.contains("carrier") == true, "\(checks)")
        #expect(status == 1)

        ovs.kill()
        (status, checks) = try await run()
        #expect(checks["ovs.port"]?.0 == "insufficient-data", "\(checks)")
        #expect(checks["ovs.port"]?.1.contains(ovs.socket) == true, "\(checks)")
    }
}

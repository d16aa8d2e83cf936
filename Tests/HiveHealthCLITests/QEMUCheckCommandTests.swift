import Foundation
import HealthTestKit
import Testing

@Suite("hive-health check against a real QEMU and guest agent")
struct QEMUCheckCommandTests {
    static let checks = """
        checks:
          - name: qmp.status
            probe: qmp.status
            target: instance
          - name: qmp.events
            probe: qmp.events
            target: instance
          - name: qmp.guest-ping
            probe: qmp.guest-ping
            target: instance
        """

    @Test("qmp.status and qmp.guest-ping pass on a running QEMU with its agent")
    func runningQEMU() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let qmp = folder.file("qmp.sock")
        let hive = folder.file("hive.sock")
        let agentSocket = folder.file("qga.sock")
        let qemu = try await QEMUFixtures.startQEMU(qmp: qmp, extra: ["-qmp", "unix:\(hive),server=on,wait=off"])
        defer { qemu.stop() }
        let agent = try await QEMUFixtures.startGuestAgent(socket: agentSocket, stateDirectory: folder.path)
        defer { agent.stop() }
        #expect(await waitForListener(hive))
        try FileManager.default.createDirectory(atPath: folder.file("checks.d"), withIntermediateDirectories: true)
        try Data(Self.checks.utf8).write(to: URL(fileURLWithPath: folder.file("checks.d/qmp.yaml")))
        let inventory = folder.file("instances.json")
        try Data(
            """
            {"vms": {"i-0q": {"id": "i-0q", "status": "running", "config": {"qmp_socket": "\(hive)",
              "telemetry_qmp_socket": "\(qmp)", "guest_agent_socket": "\(agentSocket)"}}}}
            """.utf8
        ).write(to: URL(fileURLWithPath: inventory))
        let arguments = [
            "check", "--format", "json", "--checks", folder.file("checks.d"), "--inventory", "file:\(inventory)",
        ]
        let result = try await HiveHealthBinary.run(arguments)
        let object = try #require(try jsonObject(result.stdout) as? [String: Any], "\(result.stdout)\(result.stderr)")
        let instance = try #require((object["instances"] as? [[String: Any]])?.first)
        let guest = try #require(instance["instance"] as? [String: Any])
        let checks = try #require(guest["checks"] as? [[String: Any]])
        func status(_ name: String) -> String? {
            checks.first { $0["name"] as? String == name }?["status"] as? String
        }
        #expect(status("qmp.status") == "passed", "\(checks)")
        #expect(status("qmp.guest-ping") == "passed", "\(checks)")
        #expect(status("qmp.events") == "passed", "\(checks)")
        #expect(result.status == 0, "\(result.stderr)")
    }
}

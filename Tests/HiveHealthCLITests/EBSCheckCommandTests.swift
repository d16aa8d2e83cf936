import Foundation
import HealthTestKit
import Testing

@Suite("hive-health check: EBS volumes on a real nbdkit and QEMU, SMART blobs", .serialized)
struct EBSCheckCommandTests {
    static let checks = """
        checks:
          - name: nbd.export
            probe: nbd.export
            target: volume
            category: ebs
          - name: qmp.block
            probe: qmp.block
            target: instance
            category: ebs
          - name: ebs.attachment
            probe: ebs.attachment
            target: instance
            category: ebs
        """

    /// Runs `check` and returns the JSON object, the instance's ebs category and the exit status.
    func check(_ folder: ShortTemporaryFolder) async throws -> (ebs: [String: Any], status: Int32) {
        let result = try await HiveHealthBinary.run([
            "check", "--format", "json", "--checks", folder.file("checks.d"),
            "--inventory", "file:\(folder.file("instances.json"))",
        ])
        let object = try #require(try jsonObject(result.stdout) as? [String: Any], "\(result.stdout)\(result.stderr)")
        let instance = try #require((object["instances"] as? [[String: Any]])?.first)
        return (try #require(instance["ebs"] as? [String: Any]), result.status)
    }

    func checkStatus(_ ebs: [String: Any], _ name: String) -> (String?, String) {
        let check = (ebs["checks"] as? [[String: Any]])?.first { $0["name"] as? String == name }
        return (check?["status"] as? String, check?["message"] as? String ?? "")
    }

    @Test("a live export is ok; killing nbdkit or injecting errors makes the ebs category impaired")
    func liveKilledAndErrors() async throws {
        let folder = try ShortTemporaryFolder(prefix: "ebsc")
        defer { folder.remove() }
        let socket = folder.file("vol-1.sock")
        let nbdkit = try await StorageFixtures.startNBDKit(socket: socket)
        defer { nbdkit.stop() }
        let qmp = folder.file("qmp.sock")
        let qemu = try await QEMUFixtures.startQEMU(
            qmp: qmp, extra: ["-drive", "if=none,id=drive-vol1,format=raw,file=nbd:unix:\(socket)"])
        defer { qemu.stop() }
        try FileManager.default.createDirectory(atPath: folder.file("checks.d"), withIntermediateDirectories: true)
        try Data(Self.checks.utf8).write(to: URL(fileURLWithPath: folder.file("checks.d/ebs.yaml")))
        try Data(
            """
            {"vms": {"i-0e": {"id": "i-0e", "status": "running", "config": {"qmp_socket": "\(qmp)"},
              "ebs_requests": {"Requests": [{"Name": "vol-1", "NBDURI": "nbd:unix:\(socket)",
                "DeviceName": "/dev/sdf", "Boot": false}]}}}}
            """.utf8
        ).write(to: URL(fileURLWithPath: folder.file("instances.json")))

        let live = try await check(folder)
        #expect(live.ebs["status"] as? String == "ok", "\(live.ebs)")
        #expect(checkStatus(live.ebs, "nbd.export").0 == "passed")
        let volumeCheck = (live.ebs["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "nbd.export" }
        #expect(volumeCheck?["target"] as? String == "vol-1")
        #expect(checkStatus(live.ebs, "ebs.attachment").0 == "passed")
        #expect(checkStatus(live.ebs, "qmp.block").0 == "passed")
        #expect(live.status == 0)

        nbdkit.stop()
        let killed = try await check(folder)
        #expect(killed.ebs["status"] as? String == "impaired", "\(killed.ebs)")
        #expect(checkStatus(killed.ebs, "nbd.export").0 == "failed")
        #expect(checkStatus(killed.ebs, "ebs.attachment").1.contains("nbdkit gone"), "\(killed.ebs)")
        #expect(killed.status == 1)

        try? FileManager.default.removeItem(atPath: socket)
        let faulty = try await StorageFixtures.startNBDKit(
            socket: socket, filters: ["error"], arguments: ["error-pread=EIO", "error-pread-rate=100%"])
        defer { faulty.stop() }
        let errors = try await check(folder)
        #expect(errors.ebs["status"] as? String == "impaired", "\(errors.ebs)")
        #expect(checkStatus(errors.ebs, "nbd.export").1.contains("EIO"), "\(errors.ebs)")

    }

    @Test("the shipped ebs checks take hive.toml's ebs_timeout")
    func ebsTimeout() async throws {
        let folder = try ShortTemporaryFolder(prefix: "ebst")
        defer { folder.remove() }
        try Data("[health.thresholds]\nebs_timeout = \"7s\"\n".utf8).write(
            to: URL(fileURLWithPath: folder.file("hive.toml")))
        let result = try await HiveHealthBinary.run([
            "validate", HiveHealthBinary.packageRoot.appending(path: "checks.d").path, "--config",
            folder.file("hive.toml"), "--environment", "production",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        for check in ["nbd.export", "qmp.block", "ebs.attachment", "nbd.device"] {
            let line = result.stdout.split(separator: "\n")
                .first { $0.hasPrefix(check + " ") && $0.contains("timeout") }
            #expect(line?.contains("7s") == true && line?.contains("ebs_timeout") == true, "\(check): \(line ?? "")")
        }
    }

    @Test("a failing SMART blob makes the node's system category impaired with the reason")
    func failingSMART() async throws {
        let folder = try ShortTemporaryFolder(prefix: "smart")
        defer { folder.remove() }
        let blob = folder.file("sdb.blob")
        #expect(FileManager.default.createFile(atPath: blob, contents: Data(SMARTBlob.failing().bytes)))
        try FileManager.default.createDirectory(atPath: folder.file("checks.d"), withIntermediateDirectories: true)
        try Data(
            """
            checks:
              - name: host.smart
                probe: host.smart
                target: node
                params:
                  devices: ["blob:\(blob)"]
            """.utf8
        ).write(to: URL(fileURLWithPath: folder.file("checks.d/smart.yaml")))
        try Data(#"{"vms": {}}"#.utf8).write(to: URL(fileURLWithPath: folder.file("instances.json")))
        let result = try await HiveHealthBinary.run([
            "check", "--format", "json", "--checks", folder.file("checks.d"),
            "--inventory", "file:\(folder.file("instances.json"))",
        ])
        let object = try #require(try jsonObject(result.stdout) as? [String: Any], "\(result.stdout)\(result.stderr)")
        let system = try #require((object["node"] as? [String: Any])?["system"] as? [String: Any])
        #expect(system["status"] as? String == "impaired", "\(system)")
        let smart = (system["checks"] as? [[String: Any]])?.first
        #expect((smart?["message"] as? String)?.contains("self-assessment negative") == true, "\(system)")
        #expect(result.status == 1)
    }
}

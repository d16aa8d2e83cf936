import Foundation
import HealthNATS
import HealthTestKit
import Logging
import Testing

@Suite("Commands with NATS configured", .serialized)
struct NATSCommandTests {
    @Test("run on hive-kv: an instance written into hive-instance-state appears in status (read from KV), no restart")
    func runFollowsHiveKVAndStatusReadsKV() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let checks = folder.url.appending(path: "checks.d")
        try FileManager.default.createDirectory(at: checks, withIntermediateDirectories: true)
        try Data(
            """
            checks:
              - name: qemu.process
                probe: qemu.process
                target: instance
                interval: 1s
            """.utf8
        ).write(to: checks.appending(path: "checks.yaml"))
        let config = folder.url.appending(path: "hive.toml")
        try Data(
            """
            node = "node-cli"
            [nodes.node-cli.nats]
            host = "127.0.0.1:\(server.port)"
            [health.inventory]
            source = "hive-kv"
            """.utf8
        ).write(to: config)

        let client = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: Logger(label: "test"))
        defer { client.close() }
        let hive = try await client.keyValue(KeyValueBucketConfiguration(bucket: "hive-instance-state"))
        try await hive.put("node.node-cli", value: Array("{\"vms\": {}}".utf8))

        let process = try HiveHealthBinary.start(
            [
                "run", "--config", config.path, "--checks", checks.path,
                "--state-dir", folder.url.appending(path: "s").path,
            ],
            log: folder.url.appending(path: "run.log"))
        defer { HiveHealthBinary.stopBlocking(process) }
        try await hive.put(
            "node.node-cli", value: Array(#"{"vms": {"i-0cli": {"id": "i-0cli", "status": "running"}}}"#.utf8))

        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        var instanceIDs: [String] = []
        var source: [String: Any] = [:]
        while ContinuousClock.now < deadline, process.isRunning, instanceIDs != ["i-0cli"] {
            // Without the daemon's --state-dir, status finds no control socket: it reads the KV store.
            let status = try await HiveHealthBinary.run(["status", "--config", config.path, "--format", "json"])
            if let object = try? jsonObject(status.stdout) as? [String: Any],
                let instances = object["instances"] as? [[String: Any]]
            {
                instanceIDs = instances.compactMap { $0["instance_id"] as? String }
                source = object["source"] as? [String: Any] ?? [:]
            }
            if instanceIDs != ["i-0cli"] { try await Task.sleep(for: .milliseconds(300)) }
        }
        let log = (try? String(contentsOf: folder.url.appending(path: "run.log"), encoding: .utf8)) ?? ""
        #expect(instanceIDs == ["i-0cli"], "daemon log:\n\(log.suffix(3000))")
        #expect(source["kind"] as? String == "store", "\(source)")
        #expect((source["location"] as? String)?.hasPrefix("hive-health-status on nats://") == true, "\(source)")
        #expect(!FileManager.default.fileExists(atPath: folder.url.appending(path: "s/state.json").path))
        #expect(await HiveHealthBinary.stop(process) == 0)
    }
}

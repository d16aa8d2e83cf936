import Foundation
import Testing

@Suite("hive-health validate --environment with node selectors")
struct ValidateSelectorsCommandTests {
    @Test("effective values depend on --node, labels and cluster from hive.toml; the origin names the override")
    func perNode() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let checks = folder.url.appending(path: "checks.d")
        try FileManager.default.createDirectory(
            at: checks.appending(path: "environments"), withIntermediateDirectories: true)
        try Data("checks:\n  - name: host.memory\n    probe: host.meminfo\n    target: node\n".utf8)
            .write(to: checks.appending(path: "10-host.yaml"))
        try Data(
            """
            overrides:
              - checks: host.memory
                nodes: "edge-*"
                interval: 15s
              - checks: host.memory
                labels: {rack: r1}
                cluster: syd-1
                thresholds: {consecutive_failures: 7}
            """.utf8
        ).write(to: checks.appending(path: "environments/prod.yaml"))
        let config = folder.url.appending(path: "hive.toml")
        try Data("[health]\ncluster = \"syd-1\"\n[health.labels]\nrack = \"r1\"\n".utf8).write(to: config)

        func settings(node: String) async throws -> [String: [String: String]] {
            let result = try await HiveHealthBinary.run([
                "validate", checks.path, "--environment", "prod", "--node", node, "--config", config.path,
                "--format", "json",
            ])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let object = try #require(try jsonObject(result.stdout) as? [String: Any])
            let effective = try #require(object["effective"] as? [[String: Any]])
            let check = try #require(effective.first { $0["name"] as? String == "host.memory" })
            return try #require(check["settings"] as? [String: [String: String]])
        }

        let edge = try await settings(node: "edge-3")
        #expect(edge["interval"]?["value"] == "15s")
        #expect(edge["interval"]?["from"]?.hasSuffix("environments/prod.yaml:4:15 (nodes=edge-*)") == true)
        #expect(edge["thresholds.consecutive_failures"]?["value"] == "7")
        #expect(edge["thresholds.consecutive_failures"]?["from"]?.contains("environments/prod.yaml:8:") == true)

        let core = try await settings(node: "core-1")
        #expect(core["interval"]?["value"] == "1m")
        #expect(core["interval"]?["from"] == "default")
        #expect(core["thresholds.consecutive_failures"]?["value"] == "7")
    }
}

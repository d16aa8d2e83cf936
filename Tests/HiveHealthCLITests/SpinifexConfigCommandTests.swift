import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import HealthNATS
import HealthTestKit
import Logging
import Testing

/// `hive-health run --config spinifex.toml` with Spinifex's own file (SpinifexConfigFile: its template at ddf22cac):
/// TLS against `cacert`, the token from `acl.token`, prefix `spinifex`.
@Suite("run with Spinifex's spinifex.toml", .serialized)
struct SpinifexConfigCommandTests {
    struct Node {
        let authority: TestCertificateAuthority
        let server: NATSServerProcess
        let folder: TemporaryFolder
        let token = "spx-nats-token"

        init() throws {
            authority = try TestCertificateAuthority()
            server = try NATSServerProcess(token: token, tls: authority)
            folder = try TemporaryFolder()
        }

        func stop() {
            server.stop()
            authority.remove()
            folder.remove()
        }

        /// Writes spinifex.toml (named so: the name means prefix `spinifex`) with `ca` as its cacert.
        func writeConfig(ca: String? = nil, token: String? = nil, health: String? = nil) throws -> String {
            let file = SpinifexConfigFile(
                node: "node-spx", natsHost: "127.0.0.1:\(server.port)", caCertificate: ca ?? authority.caCertificate,
                token: token ?? self.token, dataDirectory: folder.url.appending(path: "data").path)
            let path = folder.url.appending(path: "spinifex.toml").path
            try Data(file.render(health: health).utf8).write(to: URL(fileURLWithPath: path))
            return path
        }

        func client() async throws -> NATSConnection {
            try await NATSConnection.connect(
                NATSConfiguration(
                    host: "127.0.0.1:\(server.port)", token: token, caCertificateFile: authority.caCertificate),
                requireServer: true, logger: Logger(label: "test"))
        }
    }

    @Test("with no [health] section it connects over TLS, reads spinifex-instance-state, writes spinifex-health-status")
    func runsOnSpinifexOwnFile() async throws {
        let node = try Node()
        defer { node.stop() }
        let config = try node.writeConfig()
        let client = try await node.client()
        defer { client.close() }
        // A running VM as Spinifex's daemon writes it (spinifex/vm/vm.go VM, ddf22cac): node.<node> = {"vms": {...}}.
        let instances = try await client.keyValue(KeyValueBucketConfiguration(bucket: "spinifex-instance-state"))
        _ = try await instances.put(
            "node.node-spx",
            value: Array(
                (#"{"vms": {"i-0spx": {"id": "i-0spx", "status": "running", "instance_type": "t3.micro", "#
                    + #""account_id": "123456789012", "health": {"crash_count": 0, "restart_count": 0, "#
                    + #""qmp_consecutive_failures": 0}}}}"#).utf8))

        let process = try HiveHealthBinary.start(
            ["run", "--config", config, "--state-dir", node.folder.url.appending(path: "s").path],
            log: node.folder.url.appending(path: "run.log"))
        defer { HiveHealthBinary.stopBlocking(process) }
        let status = try await client.keyValue(KeyValueBucketConfiguration(bucket: "spinifex-health-status"))
        let written = await eventually(timeout: .seconds(60), poll: .milliseconds(300)) {
            (try? await status.get("instance.i-0spx")) != nil
        }
        let log = (try? String(contentsOf: node.folder.url.appending(path: "run.log"), encoding: .utf8)) ?? ""
        #expect(written, "daemon log:\n\(log.suffix(3000))")
        #expect(!FileManager.default.fileExists(atPath: node.folder.url.appending(path: "s/state.json").path))
        #expect(await HiveHealthBinary.stop(process) == 0)
    }

    @Test("a stopped instance (instance.<id>, last_node here) is listed as stopped with IncludeAllInstances only")
    func stoppedInstanceWithIncludeAllInstances() async throws {
        let node = try Node()
        defer { node.stop() }
        let port = try NATSServerProcess.freePort()
        let config = try node.writeConfig(health: "[health.api]\nlisten = \"127.0.0.1:\(port)\"")
        let client = try await node.client()
        defer { client.close() }
        let instances = try await client.keyValue(KeyValueBucketConfiguration(bucket: "spinifex-instance-state"))
        _ = try await instances.put("node.node-spx", value: Array(#"{"vms": {}}"#.utf8))
        // A stopped VM as Spinifex's daemon keeps it (spinifex/daemon/jetstream.go StoppedInstancePrefix, ddf22cac).
        var stopped = SpinifexVM(id: "i-0stopped", status: "stopped", accountID: "123456789012")
        stopped.lastNode = "node-spx"
        _ = try await instances.put("instance.i-0stopped", value: try stopped.encoded())

        let process = try HiveHealthBinary.start(
            ["run", "--config", config, "--state-dir", node.folder.url.appending(path: "s").path],
            log: node.folder.url.appending(path: "run.log"))
        defer { HiveHealthBinary.stopBlocking(process) }
        func describe(all: Bool) async -> String {
            let query = "Action=DescribeInstanceStatus&Version=2016-11-15" + (all ? "&IncludeAllInstances=true" : "")
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/?\(query)")!)
            request.timeoutInterval = 5
            guard let (data, _) = try? await URLSession.shared.data(for: request) else { return "" }
            return String(decoding: data, as: UTF8.self)
        }
        var listed = ""
        let seen = await eventually(timeout: .seconds(60), poll: .milliseconds(300)) {
            listed = await describe(all: true)
            return listed.contains("i-0stopped")
        }
        let log = (try? String(contentsOf: node.folder.url.appending(path: "run.log"), encoding: .utf8)) ?? ""
        #expect(seen, "\(listed)\n\(log.suffix(2000))")
        #expect(listed.contains("<name>stopped</name>"), "\(listed)")
        #expect(!(await describe(all: false)).contains("i-0stopped"))
        #expect(await HiveHealthBinary.stop(process) == 0)
    }

    @Test("a wrong CA file or a wrong token stops run with one clear error naming the server and the CA file")
    func wrongCAOrTokenIsOneClearError() async throws {
        let node = try Node()
        defer { node.stop() }
        let other = try TestCertificateAuthority(name: "another CA")
        defer { other.remove() }
        for (ca, token) in [(other.caCertificate, node.token), (node.authority.caCertificate, "wrong-token")] {
            let config = try node.writeConfig(ca: ca, token: token)
            let result = try await HiveHealthBinary.run(
                ["run", "--config", config, "--state-dir", node.folder.url.appending(path: "s").path])
            #expect(result.status != 0)
            let server = "nats://127.0.0.1:\(node.server.port)"
            let lines = result.stderr.split(separator: "\n").filter { $0.contains(server) }
            #expect(lines.count == 1, "stderr:\n\(result.stderr)")
            #expect(lines.first?.contains(ca) == true, "stderr:\n\(result.stderr)")
        }
    }
}

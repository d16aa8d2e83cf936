import Foundation
import HealthCatalogue
import HealthCore
import HealthTestKit
import Testing

@Suite("spinifex.toml: Spinifex's own configuration file")
struct SpinifexConfigTests {
    let file = SpinifexConfigFile(
        node: "node-1", natsHost: "10.0.0.5:4222", caCertificate: "/etc/spinifex/ca.pem", token: "tok",
        dataDirectory: "/var/lib/spinifex")

    @Test("Spinifex's template parses: node facts, NATS host, acl.token, cacert; prefix spinifex, inventory hive-kv")
    func templateParses() throws {
        let config = try HealthConfig.parse(file.render(), file: "/etc/spinifex/spinifex.toml")
        let node = try #require(config.currentNode)
        #expect(node.name == "node-1")
        #expect(node.region == "ap-southeast-2")
        #expect(node.availabilityZone == "ap-southeast-2a")
        #expect(node.natsHost == "10.0.0.5:4222")
        #expect(node.natsToken == "tok")
        #expect(node.natsCACertificate == "/etc/spinifex/ca.pem")
        #expect(config.nats.prefix == "spinifex")
        #expect(config.inventory.source == .hiveKV)
    }

    @Test("[health.nats] prefix overrides what the file name implies; hive.toml keeps prefix hive")
    func prefixOverride() throws {
        let overridden = try HealthConfig.parse(
            file.render(health: "[health.nats]\nprefix = \"hive\""), file: "/etc/spinifex/spinifex.toml")
        #expect(overridden.nats.prefix == "hive")
        let hive = try HealthConfig.parse(file.render(), file: "/etc/hive/hive.toml")
        #expect(hive.nats.prefix == "hive")
        #expect(hive.inventory.source == .qemuScan)
    }

    @Test("a relative cacert is taken from the configuration file's folder")
    func relativeCACertificate() throws {
        let text = "node = \"n\"\n[nodes.n.nats]\nhost = \"h:4222\"\ncacert = \"ca.pem\"\n"
        let config = try HealthConfig.parse(text, file: "/etc/spinifex/spinifex.toml")
        #expect(config.nodes["n"]?.natsCACertificate == "/etc/spinifex/ca.pem")
    }

    @Test("the seed's timeouts are the defaults: qmp_timeout 10 s, ebs_timeout 30 s")
    func seedTimeouts() {
        #expect(HealthConfig.defaults.timeout(for: .qmp) == .seconds(10))
        #expect(HealthConfig.defaults.timeout(for: .ebs) == .seconds(30))
    }
}

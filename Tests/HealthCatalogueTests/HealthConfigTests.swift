import Foundation
import HealthCatalogue
import HealthCore
import Testing

@Suite("hive.toml [health]")
struct HealthConfigTests {
    @Test("a hive.toml without [health] gives the defaults and keeps Hive's node facts")
    func defaultsAndNodeFacts() throws {
        let text = """
            node = "node-a"
            [nodes.node-a]
            region = "ap-southeast-2"
            az = "ap-southeast-2a"
            base_dir = "/var/lib/hive"
            [nodes.node-a.nats]
            host = "127.0.0.1:4222"
            acl.token = "secret-token"
            [daemon]
            whatever = 1
            """
        let config = try HealthConfig.parse(text, file: "hive.toml")
        #expect(config.node == "node-a")
        let node = try #require(config.currentNode)
        #expect(node.region == "ap-southeast-2")
        #expect(node.availabilityZone == "ap-southeast-2a")
        #expect(node.baseDirectory == "/var/lib/hive")
        #expect(node.natsHost == "127.0.0.1:4222")
        #expect(node.natsToken == "secret-token")
        #expect(config.nodeInfo
            == NodeInfo(name: "node-a", region: "ap-southeast-2", availabilityZone: "ap-southeast-2a"))
        #expect(config.enabled)
        #expect(config.checkInterval == .seconds(60))
        #expect(config.launchGracePeriod == .seconds(300))
        #expect(config.maxConcurrency == 64)
        #expect(config.hostRoot == "/")
        #expect(config.api.listen == "127.0.0.1:9797")
        #expect(config.inventory.source == .qemuScan)
        #expect(config.thresholds == Thresholds(consecutiveFailures: 2, consecutiveSuccesses: 1))
        #expect(config.timeout(for: .network) == .seconds(5))
        #expect(config.timeout(for: .qmp) == .seconds(10))
        #expect(config.timeout(for: .ebs) == .seconds(30))
        #expect(config.timeout(for: .standard) == .seconds(10))
        #expect(config.enabledCategories == [.system, .instance, .ebs])
        #expect(!config.recoveryEnabled)
        #expect(config.explicitKeys.isEmpty)
    }

    @Test("every [health] key is read, durations as strings or integer seconds")
    func everyKey() throws {
        let text = """
            [health]
            enabled = true
            check_interval = "30s"
            system_check_enabled = true
            instance_check_enabled = false
            ebs_check_enabled = true
            recovery_enabled = true
            checks_dir = "/etc/hive/checks.d"
            environment = "production"
            state_dir = "/var/lib/hive-health"
            runtime_dir = "/run/hive"
            host_root = "/host"
            launch_grace_period = 120
            max_concurrency = 8

            [health.probe_concurrency]
            "net.icmp" = 4

            [health.thresholds]
            network_timeout = "2s"
            qmp_timeout = 3
            ebs_timeout = "1m"
            consecutive_failures = 3
            consecutive_successes = 2
            flap_high = 60
            flap_low = 20.5

            [health.api]
            listen = "0.0.0.0:9000"
            credentials_file = "/etc/hive/credentials.toml"
            [health.api.credentials]
            AKIAEXAMPLE = "wJalrXUtnFEMI"

            [health.inventory]
            source = "file"
            path = "/var/lib/hive/instances.json"
            """
        let config = try HealthConfig.parse(text, file: "/etc/hive/hive.toml")
        #expect(config.checkInterval == .seconds(30))
        #expect(!config.instanceCheckEnabled)
        #expect(config.enabledCategories == [.system, .ebs])
        #expect(config.recoveryEnabled)
        #expect(config.checksDirectory == "/etc/hive/checks.d")
        #expect(config.environment == "production")
        #expect(config.stateDirectory == "/var/lib/hive-health")
        #expect(config.runtimeDirectory == "/run/hive")
        #expect(config.hostRoot == "/host")
        #expect(config.launchGracePeriod == .seconds(120))
        #expect(config.maxConcurrency == 8)
        #expect(config.probeConcurrency == ["net.icmp": 4])
        #expect(config.timeout(for: .network) == .seconds(2))
        #expect(config.timeout(for: .qmp) == .seconds(3))
        #expect(config.timeout(for: .ebs) == .seconds(60))
        #expect(config.thresholds
            == Thresholds(consecutiveFailures: 3, consecutiveSuccesses: 2, flapHigh: 60, flapLow: 20.5))
        #expect(config.api.listen == "0.0.0.0:9000")
        #expect(config.api.credentialsFile == "/etc/hive/credentials.toml")
        #expect(config.api.credentials == ["AKIAEXAMPLE": "wJalrXUtnFEMI"])
        #expect(config.inventory.source == .file)
        #expect(config.inventory.path == "/var/lib/hive/instances.json")
        #expect(config.provenance(ofKey: "health.check_interval") == "hive.toml [health] check_interval")
        #expect(config.provenance(ofKey: "health.thresholds.qmp_timeout")
            == "hive.toml [health.thresholds] qmp_timeout")
        #expect(config.provenance(ofKey: "health.state_dir") == "hive.toml [health] state_dir")
    }

    @Test("[health] enabled = false turns every category off")
    func disabled() throws {
        let config = try HealthConfig.parse("[health]\nenabled = false\n", file: "hive.toml")
        #expect(config.enabledCategories.isEmpty)
    }

    @Test("[health.nats] keys are read; a prefix with a dot or a wildcard is refused")
    func natsSection() throws {
        let text = """
            node = "n1"
            [nodes.n1.nats]
            host = "10.0.0.1:4222"
            acl.token = "tok"
            [health.nats]
            prefix = "spinifex"
            status_interval = "30s"
            metrics_interval = "2m"
            heartbeat_interval = "5s"
            outbox_limit = 500
            """
        let config = try HealthConfig.parse(text, file: "hive.toml")
        #expect(config.nats.enabled)
        #expect(config.nats.prefix == "spinifex")
        #expect(config.nats.statusInterval == .seconds(30))
        #expect(config.nats.metricsInterval == .seconds(120))
        #expect(config.nats.heartbeatInterval == .seconds(5))
        #expect(config.nats.outboxLimit == 500)
        #expect(config.currentNode?.natsHost == "10.0.0.1:4222")
        #expect(config.currentNode?.natsToken == "tok")
        #expect(HealthConfig.defaults.nats.prefix == "hive")
        #expect(throws: CatalogueError.self) { try HealthConfig.parse("[health.nats]\nprefix = \"a.b\"\n", file: "t") }
        #expect(throws: CatalogueError.self) { try HealthConfig.parse("[health.nats]\nprefx = \"a\"\n", file: "t") }
        #expect(config.nats.replicas == 1)
        #expect(try HealthConfig.parse("[health.nats]\nreplicas = 3\n", file: "t").nats.replicas == 3)
        #expect(throws: CatalogueError.self) { try HealthConfig.parse("[health.nats]\nreplicas = 7\n", file: "t") }
    }

    @Test("an unknown key inside [health] is an error naming file, line, column and key")
    func unknownKey() throws {
        let text = "node = \"a\"\n\n[health]\nenabled = true\n  check_intervall = \"30s\"\n"
        let error = try #require(throws: CatalogueError.self) { try HealthConfig.parse(text, file: "hive.toml") }
        #expect(error.file == "hive.toml")
        #expect(error.line == 5)
        #expect(error.column == 3)
        #expect(error.key == "health.check_intervall")
        #expect(error.code == .unknownKey)
        #expect(error.description.hasPrefix("hive.toml:5:3: health.check_intervall: unknown key"))
    }

    @Test("unknown keys in [health] sub-tables are errors, dotted and inline keys are located")
    func unknownSubKeys() throws {
        let text = """
            [health]
            thresholds = { qmp_timeout = "5s", bogus = 1 }
            api.listen = "127.0.0.1:1"
            api.lisen = "x"
            """
        let (_, errors) = HealthConfig.check(text, file: "hive.toml")
        let bogus = try #require(errors.first { $0.key == "health.thresholds.bogus" })
        #expect(bogus.line == 2)
        #expect(bogus.column == 36)
        let lisen = try #require(errors.first { $0.key == "health.api.lisen" })
        #expect(lisen.line == 4)
        #expect(errors.count == 2)
    }

    @Test("wrong types and bad values are reported, all at once")
    func wrongTypes() throws {
        let text = """
            [health]
            enabled = "yes"
            check_interval = "soon"
            max_concurrency = 0
            host_root = 5
            [health.thresholds]
            consecutive_failures = 1000
            qmp_timeout = true
            flap_high = 10
            flap_low = 20
            [health.inventory]
            source = "magic"
            """
        let (_, errors) = HealthConfig.check(text, file: "hive.toml")
        let keys = Set(errors.map(\.key))
        #expect(keys == [
            "health.enabled", "health.check_interval", "health.max_concurrency", "health.host_root",
            "health.thresholds.consecutive_failures", "health.thresholds.qmp_timeout", "health.thresholds.flap_low",
            "health.inventory.source",
        ])
        let interval = try #require(errors.first { $0.key == "health.check_interval" })
        #expect(interval.line == 3)
        #expect(interval.message.contains("invalid duration 'soon'"))
        #expect(errors.first { $0.key == "health.enabled" }?.code == .type)
        let failures = errors.first { $0.key == "health.thresholds.consecutive_failures" }
        #expect(failures?.message.contains("1...100") == true)
    }

    @Test("a zero check interval and a file inventory without a path are errors")
    func semanticErrors() throws {
        let (_, errors) = HealthConfig.check(
            "[health]\ncheck_interval = 0\n[health.inventory]\nsource = \"file\"\n", file: "hive.toml")
        #expect(errors.map(\.key).sorted() == ["health.check_interval", "health.inventory.source"])
    }

    @Test("a TOML syntax error carries TOMLKit's line and column")
    func syntaxError() throws {
        let error = try #require(throws: CatalogueError.self) {
            try HealthConfig.parse("[health]\nenabled = true\ncheck_interval = \n", file: "hive.toml")
        }
        #expect(error.code == .syntax)
        #expect(error.line == 3)
        #expect(error.column > 0)
        #expect(error.description.hasPrefix("hive.toml:3:"))
    }

    @Test("load(path:) reads a file, and refuses missing, oversized and non-UTF-8 files")
    func loadFromDisk() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let good = try directory.write("hive.toml", "[health]\ncheck_interval = \"15s\"\n")
        #expect(try HealthConfig.load(path: good).checkInterval == .seconds(15))

        let missing = try #require(throws: CatalogueError.self) {
            try HealthConfig.load(path: directory.path + "/absent.toml")
        }
        #expect(missing.code == .unreadable)

        let big = try directory.write("big.toml", bytes: [UInt8](repeating: UInt8(ascii: "#"), count: 2_000_000))
        let tooLarge = try #require(throws: CatalogueError.self) { try HealthConfig.load(path: big) }
        #expect(tooLarge.message == "file is 2.0 MB, the limit is 1 MiB")

        let latin1 = try directory.write("latin1.toml", bytes: Array("[health]\n# caf".utf8) + [0xE9, 0x0A])
        let encoding = try #require(throws: CatalogueError.self) { try HealthConfig.load(path: latin1) }
        #expect(encoding.code == .encoding)
        #expect(encoding.line == 2)
        #expect(encoding.column == 6)
    }
}

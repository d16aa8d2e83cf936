import Foundation
import HealthCatalogue
import HealthCore
import Testing

@Suite("environment overlays")
struct EnvironmentOverlayTests {
    static let checks = """
        checks:
          - name: net.icmp
            probe: test.instance
            params: {pid_file: /run/a.pid}
          - name: net.arp
            probe: test.instance
            params: {pid_file: /run/b.pid}
            when: {instance.state: running}
          - name: host.ok
            probe: test.node
        """

    @Test("overrides apply in order, later wins, and every setting records where it came from")
    func appliesInOrderWithProvenance() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("10-checks.yaml", Self.checks)
        let overlay = try directory.write("environments/production.yaml", """
            overrides:
              - checks: "net.*"
                interval: 30s
                timeout: 5s
                thresholds: {consecutive_failures: 3}
                params: {min_available_percent: 10}
                when: {node.name: "edge-*"}
              - checks: [net.arp]
                interval: 20s
                enabled: false
            """)
        try directory.write("environments/staging.yml", "overrides: []\n")
        let config = try HealthConfig.parse("[health.thresholds]\nconsecutive_successes = 2\n", file: "hive.toml")
        let result = CatalogueLoader(registry: try testRegistry(), config: config)
            .load(directory: directory.path, environment: "production")
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.catalogue.environment == "production")

        let icmp = try #require(result.catalogue.check(named: "net.icmp"))
        #expect(icmp.interval == .seconds(30))
        #expect(icmp.timeout == .seconds(5))
        #expect(icmp.thresholds.consecutiveFailures == 3)
        #expect(icmp.thresholds.consecutiveSuccesses == 2)
        #expect(icmp.params["min_available_percent"] == .number(10))
        #expect(icmp.params["pid_file"] == .string("/run/a.pid"))
        #expect(icmp.when == [Selector(field: "node.name", patterns: ["edge-*"])])
        #expect(icmp.enabled)

        let arp = try #require(result.catalogue.check(named: "net.arp"))
        #expect(arp.interval == .seconds(20))
        #expect(!arp.enabled)
        #expect(Set(arp.when) == [
            Selector(field: "instance.state", patterns: ["running"]),
            Selector(field: "node.name", patterns: ["edge-*"]),
        ])

        let host = try #require(result.catalogue.check(named: "host.ok"))
        #expect(host.interval == .seconds(60))

        let provenance = try #require(result.catalogue.effective.first { $0.check.name == "net.arp" }).provenance
        #expect(provenance["interval"] == "\(overlay):9:15")
        #expect(provenance["timeout"] == "\(overlay):4:14")
        #expect(provenance["enabled"] == "\(overlay):10:14")
        #expect(provenance["thresholds.consecutive_failures"] == "\(overlay):5:40")
        #expect(provenance["thresholds.consecutive_successes"] == "hive.toml [health.thresholds] consecutive_successes")
        #expect(provenance["thresholds.flap_high"] == "default")
        #expect(provenance["params.min_available_percent"] == "\(overlay):6:37")
        #expect(provenance["params.pid_file"] == "\(directory.path)/10-checks.yaml:7:24")
        #expect(provenance["params.count"] == "default")
        #expect(provenance["when.instance.state"] == "\(directory.path)/10-checks.yaml:8:12")
        #expect(provenance["when.node.name"] == "\(overlay):7:12")
        #expect(provenance["category"] == "default")
        #expect(provenance["probe"] == "\(directory.path)/10-checks.yaml:6:12")
        #expect(provenance["name"] == "\(directory.path)/10-checks.yaml:5:11")
    }

    @Test("the environment defaults to hive.toml's [health] environment")
    func environmentFromConfig() throws {
        let config = try HealthConfig.parse("[health]\nenvironment = \"lab\"\n", file: "hive.toml")
        let result = try loadInMemory(
            ["a.yaml": Self.checks], environments: ["lab.yaml": "overrides:\n  - {checks: host.ok, interval: 7s}\n"],
            config: config)
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.catalogue.environment == "lab")
        #expect(result.catalogue.check(named: "host.ok")?.interval == .seconds(7))
    }

    @Test("an unknown environment is an error listing the available ones")
    func unknownEnvironment() throws {
        let result = try loadInMemory(
            ["a.yaml": Self.checks], environments: ["prod.yaml": "overrides: []", "lab.yml": "overrides: []"],
            environment: "qa")
        let error = try #require(result.errors.first)
        #expect(result.errors.count == 1)
        #expect(error.code == .unknownEnvironment)
        #expect(error.message == "unknown environment 'qa'; available: lab, prod")
        #expect(result.catalogue.checks.count == 3)
        #expect(result.catalogue.environment == nil)
    }

    @Test("a pattern that matches no check is an error at the pattern")
    func patternMatchesNothing() throws {
        let result = try loadInMemory(
            ["a.yaml": Self.checks],
            environments: ["e.yaml": "overrides:\n  - checks: [host.ok, \"disk.*\"]\n    interval: 9s\n"],
            environment: "e")
        let error = try #require(result.error(key: "overrides[0].checks[1]"))
        #expect(error.message == "'disk.*' matches no check")
        #expect(error.line == 2)
        #expect(error.column == 23)
        #expect(error.file == "e.yaml")
    }

    @Test("overlay params are validated against each matching check's probe")
    func overlayParamsValidated() throws {
        let result = try loadInMemory(
            ["a.yaml": Self.checks],
            environments: ["e.yaml": "overrides:\n  - checks: \"net.*\"\n    params: {count: many}\n"],
            environment: "e")
        let error = try #require(result.error(key: "overrides[0].params.count"))
        #expect(error.message.contains("expected an integer"))
        #expect(error.file == "e.yaml")
        #expect(result.errors.count == 1)
        // The override that does not fit is not applied; the checks keep their own values.
        #expect(result.catalogue.check(named: "net.icmp")?.params["count"] == .integer(3))
    }

    @Test("an override that makes a check invalid drops that check and blames the overlay")
    func overlayMakesCheckInvalid() throws {
        let result = try loadInMemory(
            ["a.yaml": Self.checks],
            environments: ["e.yaml": "overrides:\n  - checks: host.ok\n    timeout: 2m\n"],
            environment: "e")
        let error = try #require(result.errors.first)
        #expect(error.file == "e.yaml")
        #expect(error.key == "overrides[0].timeout")
        #expect(error.message.contains("must be less than the interval"))
        #expect(result.catalogue.check(named: "host.ok") == nil)
        #expect(result.catalogue.checks.count == 2)
    }

    @Test("unknown keys and wrong shapes in an overlay are errors and the overlay is not applied")
    func overlayShapeErrors() throws {
        let result = try loadInMemory(
            ["a.yaml": Self.checks],
            environments: ["e.yaml": "overrides:\n  - checks: host.ok\n    interval: 9s\n    intervall: 1s\n  - 5\n"],
            environment: "e")
        #expect(result.error(key: "overrides[0].intervall")?.code == .unknownKey)
        #expect(result.error(key: "overrides[1]")?.message.contains("expected a mapping") == true)
        #expect(result.catalogue.check(named: "host.ok")?.interval == .seconds(60))
        #expect(result.catalogue.environment == nil)
    }
}

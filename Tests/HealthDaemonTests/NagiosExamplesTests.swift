import Foundation
import HealthCatalogue
import HealthCore
import HealthDaemon
import HealthProbes
import Logging
import Testing

/// The shipped checks.d/60-nagios.yaml: valid, disabled, and its plugins really run through the `exec` probe.
@Suite("Nagios plugin examples")
struct NagiosExamplesTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("check_load and check_disk from monitoring-plugins-basic run through exec and give a verdict with perfdata")
    func pluginsRunThroughExec() async throws {
        let registry = try ProbeRegistry(HealthProbesRegistry.probeTypes)
        let loader = CatalogueLoader(registry: registry, config: .defaults)
        let text = try String(
            contentsOf: Self.packageRoot.appending(path: "checks.d/60-nagios.yaml"), encoding: .utf8)
        let result = loader.load(files: [("60-nagios.yaml", Array(text.utf8))], environmentFiles: [], environment: nil)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let checks = result.catalogue.checks
        #expect(Set(checks.map(\.name)) == ["nagios.load", "nagios.disk-root"])
        #expect(checks.allSatisfy { !$0.enabled }, "the examples ship disabled")

        let probe = ExecProbe(environment: ProbeEnvironment())
        let node = NodeInfo(name: "node-test")
        for check in checks {
            let command = try #require(check.params["command"])
            guard case .stringList(let argv) = command, let plugin = argv.first else {
                Issue.record("\(check.name): command is not an argv list")
                continue
            }
            // A missing plugin must fail the test (scripts/test.sh installs monitoring-plugins-basic).
            #expect(FileManager.default.isExecutableFile(atPath: plugin), "\(plugin) is not installed")
            let request = ProbeRequest(
                checkName: check.name, target: .node(node), node: node, parameters: ProbeParameters(check.params),
                timeout: check.timeout, logger: Logger(label: "test"))
            let observation = await probe.observe(request)
            // Load and disk space on a test machine may be anything: the plugin must give a verdict, not unknown.
            #expect(observation.outcome != .unknown, "\(check.name): \(observation.message)")
            #expect(!observation.values.isEmpty, "\(check.name): no perfdata in '\(observation.message)'")
            let prefix = check.name == "nagios.load" ? "LOAD" : "DISK"
            #expect(observation.message.uppercased().contains(prefix), "\(check.name): \(observation.message)")
        }
    }
}

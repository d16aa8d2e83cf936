import Foundation
import HealthCore
import HealthDaemon
import HealthTestKit
import Logging
import Testing

@Suite("Catalogue hot reload")
struct CatalogueReloadTests {
    func checks(interval: String, name: String = "host.memory") -> String {
        """
        checks:
          - name: \(name)
            probe: host.meminfo
            target: node
            interval: \(interval)
        """
    }

    @Test("a changed catalogue is applied without a restart; a broken one is refused and the last good one stays")
    func reload() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(checks(interval: "30s"), to: "host.yaml")
        try fixture.writeInventory(ids: [])
        let daemon = try await HealthDaemon(setup: try fixture.setup(), logger: Logger(label: "test"), timing: .fast)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        #expect(await eventually { daemon.planner.checks.first?.interval == .seconds(30) })

        try fixture.write(checks(interval: "45s"), to: "host.yaml")
        #expect(await eventually { daemon.planner.checks.first?.interval == .seconds(45) })

        try fixture.write("checks:\n  - name: broken\n    probe: no.such.probe\n", to: "host.yaml")
        #expect(await eventually { daemon.planner.reloadCounts.rejected >= 1 })
        #expect(daemon.planner.checks.map(\.name) == ["host.memory"])
        #expect(daemon.planner.checks.first?.interval == .seconds(45))
        #expect(daemon.evaluator.report().node.system.checks.map(\.name) == ["host.memory"])

        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("at start the good files load and the bad ones are left out")
    func partialStart() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(checks(interval: "30s"), to: "a-good.yaml")
        try fixture.write("checks:\n  - name: bad\n    probe: host.meminfo\n    interval: soon\n", to: "b-bad.yaml")
        try fixture.writeInventory(ids: [])
        let daemon = try await HealthDaemon(setup: try fixture.setup(), logger: Logger(label: "test"), timing: .fast)
        daemon.planner.reloadCatalogue(force: true)
        #expect(daemon.planner.checks.map(\.name) == ["host.memory"])
    }

    @Test("the built-in catalogue loads and is valid when no checks.d is given")
    func embedded() throws {
        var setup = try DaemonFixture().setup()
        setup.catalogueSource = .embedded
        let result = setup.loadCatalogue()
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.catalogue.checks.contains { $0.name == "host.memory" })
        let production = setup.loadCatalogue(environment: "production")
        #expect(production.errors.isEmpty, "\(production.errors)")
        #expect(production.catalogue.check(named: "host.memory")?.thresholds.consecutiveFailures == 3)
    }
}

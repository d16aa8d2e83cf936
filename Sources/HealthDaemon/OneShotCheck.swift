import Foundation
import HealthCatalogue
import HealthCore
import HealthEngine
import HealthNATS
import Logging

/// `hive-health check`: every check run once, now, on the real machine; thresholds do not apply.
public struct OneShotCheck: Sendable {
    public var setup: DaemonSetup
    public var logger: Logger

    public init(setup: DaemonSetup, logger: Logger) {
        self.setup = setup
        self.logger = logger
    }

    /// What one run produced, with the catalogue and inventory problems met on the way.
    public struct Outcome: Sendable {
        public var report: HealthReport
        public var catalogueErrors: [CatalogueError]
        public var skippedInventory: [String]
    }

    public func run() async throws -> Outcome {
        let catalogue = setup.loadCatalogue()
        var connection: NATSConnection?
        if let configuration = setup.natsConfiguration {
            do {
                connection = try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
            } catch {
                guard setup.inventory != .hiveKV else {
                    throw SetupError("cannot read the inventory (hive-kv): \(error)")
                }
                logger.warning("NATS \(configuration.url): \(error); checks that read Hive's KV are unknown")
            }
        }
        defer { connection?.close() }
        let inventory = try setup.makeInventory(logger: logger, connection: connection)
        let snapshot: InventorySnapshotSummary
        do {
            let taken = try await inventory.snapshot()
            snapshot = InventorySnapshotSummary(instances: taken.instances, skipped: taken.skipped.map(\.description))
        } catch {
            throw SetupError("cannot read the inventory (\(setup.inventory)): \(error)")
        }
        let plan = setup.plan(checks: catalogue.catalogue.checks, instances: snapshot.instances)
        let probes = setup.registry.instantiate(
            environment: setup.probeEnvironment(logger: logger, connection: connection))
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: probes, limits: setup.concurrencyLimits, sink: DiscardingSink(),
            logger: logger)
        let results = await scheduler.runOnce(plan)
        let report = ReportBuilder.raw(
            plan: plan, results: results, at: Date(), enabled: setup.config.enabledCategories)
        return Outcome(report: report, catalogueErrors: catalogue.errors, skippedInventory: snapshot.skipped)
    }
}

struct InventorySnapshotSummary {
    var instances: [InstanceInfo]
    var skipped: [String]
}

struct DiscardingSink: ResultSink {
    func record(_ result: JobResult) {}
}

import Foundation
import HealthAPI
import HealthCatalogue
import HealthCore
import HealthEngine
import HealthNATS
import HealthRecovery
import HealthStore
import Logging
import ServiceLifecycle
import Synchronization

/// The daemon's view for the EC2 API: its own `HealthState.report()`, and with the JetStream KV state store the
/// other nodes' `instance.<id>` records, so the API of any node answers for the whole fleet; with NATS, every open
/// recovery (`<prefix>-health-recovery`) is a scheduled event in its instance's `eventsSet`.
final class DaemonStatusSource: InstanceStatusSource {
    let state: HealthState
    let node: String
    let fleet: KeyValueStateStore?
    /// Opens the recovery bucket (nil without NATS); opened on first use, not at start-up.
    let openRecovery: (@Sendable () async throws -> RecoveryStore)?
    let logger: Logger
    /// The fleet's records, read at most this often (a KV watch per request would cost more than the request).
    let fleetRefresh: Duration
    private typealias ReadTask = Task<[KeyValueStateStore.InstanceRecord], Never>
    private let cache = Mutex<(at: ContinuousClock.Instant, records: [KeyValueStateStore.InstanceRecord])?>(nil)
    private let refresh = Mutex<ReadTask?>(nil)
    private let eventCache = Mutex<(at: ContinuousClock.Instant, events: [ScheduledEvent])?>(nil)
    private let recoveryStore = Mutex<RecoveryStore?>(nil)

    init(
        state: HealthState, node: String, fleet: KeyValueStateStore?,
        openRecovery: (@Sendable () async throws -> RecoveryStore)? = nil, logger: Logger,
        fleetRefresh: Duration = .seconds(2)
    ) {
        self.state = state
        self.node = node
        self.fleet = fleet
        self.openRecovery = openRecovery
        self.logger = logger
        self.fleetRefresh = fleetRefresh
    }

    func instanceStatuses() async throws -> [InstanceStatusView] {
        var byID: [String: InstanceStatusView] = [:]
        if let fleet {
            for record in await fleetRecords(fleet) where record.node != node {
                byID[record.status.instanceID] = InstanceStatusView(health: record.status, node: record.node)
            }
        }
        // This node's own instances come from memory: fresher than what it last saved.
        for health in state.report().instances {
            byID[health.instanceID] = InstanceStatusView(health: health, node: node)
        }
        for event in await recoveryEvents() { byID[event.instanceID]?.events.append(event) }
        return byID.values.sorted { $0.instanceID < $1.instanceID }
    }

    /// The open recoveries' scheduled events, cached like the fleet's records; none when the bucket is unreadable.
    private func recoveryEvents() async -> [ScheduledEvent] {
        guard let openRecovery else { return [] }
        if let cached = eventCache.withLock({ $0 }), cached.at.duration(to: .now) < fleetRefresh { return cached.events }
        do {
            let store: RecoveryStore
            if let opened = recoveryStore.withLock({ $0 }) {
                store = opened
            } else {
                store = try await openRecovery()
                recoveryStore.withLock { $0 = store }
            }
            let events = try await store.pendingEvents()
            eventCache.withLock { $0 = (.now, events) }
            return events
        } catch {
            logger.warning("EC2 API: cannot read the pending recoveries: \(error)")
            return eventCache.withLock { $0?.events } ?? []
        }
    }

    /// The fleet's records: the cached ones while fresh; otherwise one read at a time (single flight: a read of a
    /// large fleet takes a while, and requests arriving meanwhile answer from the previous read instead of each
    /// starting one of their own); the previous records when the read fails.
    private func fleetRecords(_ fleet: KeyValueStateStore) async -> [KeyValueStateStore.InstanceRecord] {
        let (cached, read) = refresh.withLock { inFlight -> ([KeyValueStateStore.InstanceRecord]?, ReadTask?) in
            let cached = cache.withLock { $0 }
            if let cached, cached.at.duration(to: .now) < fleetRefresh { return (cached.records, nil) }
            if inFlight == nil { inFlight = Task { await self.readFleet(fleet) } }
            return (cached?.records, inFlight)
        }
        // A read is under way: answer from the previous one when there is one, else wait for it.
        if let cached { return cached }
        return await read?.value ?? []
    }

    private func readFleet(_ fleet: KeyValueStateStore) async -> [KeyValueStateStore.InstanceRecord] {
        // Whatever happens, the next stale request may start the next read (this task is done with the lock free).
        defer { refresh.withLock { $0 = nil } }
        do {
            let records = try await fleet.instanceRecords()
            cache.withLock { $0 = (.now, records) }
            return records
        } catch {
            logger.warning("EC2 API: cannot read the fleet's status from the state store: \(error)")
            return cache.withLock { $0?.records } ?? []
        }
    }
}

/// Keeps ReportInstanceStatus reports: in the state directory's `instance-reports.json` always, and with NATS in
/// the status bucket (`report.<report id>`) and on `<prefix>.health.events` (type `instance-status-report`).
struct DaemonReportSink: InstanceStatusReportSink {
    let file: FileReportStore
    let nats: NATSBackbone?
    let subjects: HealthSubjects
    let logger: Logger

    func record(_ report: InstanceStatusReport) async throws {
        try await file.record(report)
        guard let nats else { return }
        let message = InstanceStatusReportMessage(report: report)
        let payload = Array(try JSONEncoder.healthMessages.encode(message))
        nats.publisher.outbox.enqueue(
            OutgoingMessage(
                subject: subjects.events, payload: payload, delivery: .jetStream(messageID: report.reportID)))
        if let bucket = nats.stateStore?.bucket {
            do {
                try await bucket.put(
                    "report.\(report.reportID)", value: Array(try JSONEncoder.healthMessages.encode(report)))
            } catch {
                logger.warning("EC2 API: report \(report.reportID) not written to the state store: \(error)")
            }
        }
    }
}

/// A report as published on the events subject: the report's fields and `"type": "instance-status-report"`.
struct InstanceStatusReportMessage: Encodable {
    let report: InstanceStatusReport

    enum CodingKeys: String, CodingKey { case type }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("instance-status-report", forKey: .type)
    }
}

/// Runs the API server; a server that cannot start (port taken, bad configuration) is logged, not fatal: the checks
/// go on without it.
struct APIService: Service {
    let daemon: HealthDaemon

    func run() async throws {
        do {
            try await daemon.makeAPIServer().run()
        } catch {
            daemon.logger.error("EC2 API not running: \(error)")
        }
        // A service that returns early would stop the whole group: without its API the daemon goes on checking.
        try? await gracefulShutdown()
    }
}

extension HealthDaemon {
    /// The access keys for SigV4: `[health.api.credentials]` and the `credentials_file`'s table of the same name.
    func apiCredentials() throws -> [String: String] {
        var credentials = setup.config.api.credentials
        if let path = setup.config.api.credentialsFile {
            let file = try HealthConfig.load(path: path)
            credentials.merge(file.api.credentials) { _, fromFile in fromFile }
        }
        return credentials
    }

    func makeAPIServer() throws -> APIServer {
        let credentials = try apiCredentials()
        let metrics = self.metrics
        let state = self.state
        let scheduler = self.scheduler
        let planner = self.planner
        let nats = self.nats
        let subjects = setup.subjects
        var openRecovery: (@Sendable () async throws -> RecoveryStore)?
        if let connection = nats?.connection {
            openRecovery = { @Sendable in try await RecoveryStore.open(connection: connection, subjects: subjects) }
        }
        let source = DaemonStatusSource(
            state: state, node: setup.node.name, fleet: nats?.stateStore, openRecovery: openRecovery, logger: logger)
        let reports = DaemonReportSink(
            file: FileReportStore(directory: setup.stateDirectory), nats: nats, subjects: setup.subjects,
            logger: logger)
        var maintenance: (any InstanceMaintenanceOptionsStore)?
        if let openRecovery { maintenance = DaemonMaintenanceOptions(openRecovery: openRecovery) }
        let handler = EC2QueryHandler(
            source: source, reports: reports,
            verifier: credentials.isEmpty ? nil : SigV4Verifier(credentials: credentials), metrics: metrics,
            node: setup.node.name, maintenance: maintenance, logger: logger)
        let cloudWatch = CloudWatchHandler(
            history: metricHistory, verifier: credentials.isEmpty ? nil : SigV4Verifier(credentials: credentials),
            logger: logger)
        return try APIServer(
            listen: setup.config.api.listen, handler: handler, cloudWatch: cloudWatch, feed: fleetFeed,
            metricsText: {
                metrics.update(instances: (try? await source.instanceStatuses()) ?? [])
                metrics.update(catalogue: planner.catalogue)
                metrics.update(
                    schedulerLag: scheduler.stats.maxStartLag, droppedMessages: nats?.publisher.outbox.dropped ?? 0,
                    droppedEvents: state.droppedEvents)
                return metrics.render()
            },
            logger: logger)
    }
}

/// Forwards results to the evaluator and counts them per probe kind for `/metrics`.
struct MeteredResultSink: ResultSink {
    let state: HealthState
    let metrics: HealthMetrics

    func record(_ result: JobResult) {
        metrics.recordCheck(probe: result.job.check.probe, duration: result.observation.duration)
        state.record(result)
    }
}

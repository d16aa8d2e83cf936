import Foundation
import HealthAPI
import HealthCatalogue
import HealthCore
import HealthEngine
import HealthNATS
import HealthRecovery
import HealthStateStore
import Logging
import ServiceLifecycle
import Synchronization

/// The daemon's view for the EC2 API: its own `Evaluator.statusView()` (categories, without their checks), and with
/// the JetStream KV state store the other nodes' `instance.<id>` records (``FleetIndex``, one long-lived watch), so the
/// API of any node answers for the whole fleet; with NATS, every open recovery (`<prefix>-health-recovery`) is a
/// scheduled event in its instance's `eventsSet`.
///
/// The sorted list of views is built once per change, not per request: it is kept with what it was built from
/// (the evaluator's status generation, the fleet index's version, the recovery events) and rebuilt when one of
/// them moved, when a launch grace ends (statuses change with time alone then) or after ``maxAge`` at the latest.
/// A `/metrics` scrape or a DescribeInstanceStatus of an unchanged fleet costs no rebuild. One build runs at a time;
/// requests arriving meanwhile answer from the previous list. The list kept holds no check of this node's instances
/// (at 10,000 instances x 12 checks their statuses and messages are tens of MB, and no EC2 answer shows them): the fleet
/// page's ``instanceDetails()`` builds its list with them when it is asked.
final class DaemonStatusSource: InstanceStatusSource {
    let state: Evaluator
    let node: String
    let fleet: FleetIndex?
    /// Opens the recovery bucket (nil without NATS); opened on first use, not at start-up.
    let openRecovery: (@Sendable () async throws -> RecoveryStore)?
    let logger: Logger
    /// The pending recoveries are read at most this often.
    let eventRefresh: Duration
    /// A list is rebuilt after this even when nothing it was built from moved.
    let maxAge: Duration

    /// What a list was built from.
    private struct Stamp: Equatable {
        var status: UInt64
        var fleet: UInt64
        var events: [ScheduledEvent]
    }
    private struct Built {
        var stamp: Stamp
        var at: ContinuousClock.Instant
        /// When a status changes with time alone (a launch grace ends); nil: not before the next result.
        var expires: Date?
        var views: [InstanceStatusView]
    }
    private let built = Mutex<Built?>(nil)
    private let building = Mutex<Task<[InstanceStatusView], Never>?>(nil)
    private let eventCache = Mutex<(at: ContinuousClock.Instant, events: [ScheduledEvent])?>(nil)
    private let recoveryStore = Mutex<RecoveryStore?>(nil)

    init(
        state: Evaluator, node: String, fleet: FleetIndex?,
        openRecovery: (@Sendable () async throws -> RecoveryStore)? = nil, logger: Logger,
        eventRefresh: Duration = .seconds(2), maxAge: Duration = .seconds(60)
    ) {
        self.state = state
        self.node = node
        self.fleet = fleet
        self.openRecovery = openRecovery
        self.logger = logger
        self.eventRefresh = eventRefresh
        self.maxAge = maxAge
    }

    func instanceStatuses() async throws -> [InstanceStatusView] {
        let stamp = Stamp(
            status: state.statusGeneration, fleet: fleet?.version ?? 0, events: await recoveryEvents())
        let (current, task) = building.withLock { inFlight -> ([InstanceStatusView]?, Task<[InstanceStatusView], Never>?) in
            let previous = built.withLock { $0 }
            if let previous, previous.stamp == stamp, previous.at.duration(to: .now) < maxAge,
                previous.expires.map({ Date() < $0 }) ?? true
            {
                return (previous.views, nil)
            }
            if inFlight == nil {
                inFlight = Task {
                    defer { self.building.withLock { $0 = nil } }
                    return self.build(stamp)
                }
            }
            return (previous?.views, inFlight)
        }
        // Fresh, or a build under way: answer from the previous list when there is one, else wait for the build.
        if let current { return current }
        return await task?.value ?? []
    }

    /// Builds the sorted list of views from the evaluator's status view, the fleet index and the events.
    private func build(_ stamp: Stamp) -> [InstanceStatusView] {
        let expires = state.nextTimedChange
        let views = views(own: state.statusView().instances, events: stamp.events)
        built.withLock { $0 = Built(stamp: stamp, at: .now, expires: expires, views: views) }
        return views
    }

    /// The list with this node's checks (the fleet page), built for the request and not kept.
    func instanceDetails() async throws -> [InstanceStatusView] {
        views(own: state.report().instances, events: await recoveryEvents())
    }

    /// This node's instances (from memory: fresher than what it last saved) over the fleet index's, with their
    /// events, sorted by id.
    private func views(own: [InstanceHealth], events: [ScheduledEvent]) -> [InstanceStatusView] {
        var byID: [String: InstanceStatusView] = [:]
        if let fleet {
            for (id, record) in fleet.snapshot.records {
                byID[id] = InstanceStatusView(health: record.status, node: record.node)
            }
        }
        for health in own { byID[health.instanceID] = InstanceStatusView(health: health, node: node) }
        for event in events { byID[event.instanceID]?.events.append(event) }
        return byID.values.sorted { $0.instanceID < $1.instanceID }
    }

    /// The open recoveries' scheduled events, cached like the fleet's records; none when the bucket is unreadable.
    private func recoveryEvents() async -> [ScheduledEvent] {
        guard let openRecovery else { return [] }
        if let cached = eventCache.withLock({ $0 }), cached.at.duration(to: .now) < eventRefresh { return cached.events }
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
            let (server, fleet) = try daemon.makeAPIServer()
            try await withThrowingDiscardingTaskGroup { group in
                if let fleet, let bucket = daemon.nats?.stateStore?.bucket {
                    group.addTask { await cancelWhenGracefulShutdown { await fleet.run(bucket: bucket) } }
                }
                try await server.run()
            }
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

    /// The API server, and the fleet index it answers from when the state is in JetStream KV (run it beside).
    func makeAPIServer() throws -> (APIServer, FleetIndex?) {
        let credentials = try apiCredentials()
        let metrics = self.metrics
        let state = self.evaluator
        let scheduler = self.scheduler
        let planner = self.planner
        let nats = self.nats
        let subjects = setup.subjects
        var openRecovery: (@Sendable () async throws -> RecoveryStore)?
        if let connection = nats?.connection {
            openRecovery = { @Sendable in try await RecoveryStore.open(connection: connection, subjects: subjects) }
        }
        let fleet = nats?.stateStore == nil ? nil : FleetIndex(node: setup.node.name, logger: logger)
        let source = DaemonStatusSource(
            state: state, node: setup.node.name, fleet: fleet, openRecovery: openRecovery, logger: logger)
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
        let server = try APIServer(
            listen: setup.config.api.listen, handler: handler, cloudWatch: cloudWatch, feed: fleetFeed,
            metricsText: {
                metrics.update(instances: (try? await source.instanceStatuses()) ?? [])
                metrics.update(catalogue: planner.catalogue)
                metrics.update(
                    schedulerLag: scheduler.stats.maxStartLag, droppedMessages: nats?.publisher.outbox.dropped ?? 0,
                    droppedEvents: state.droppedEvents)
                return metrics.chunks()
            },
            logger: logger)
        return (server, fleet)
    }
}

/// Forwards results to the evaluator and counts them per probe kind for `/metrics`.
struct MeteredResultSink: ResultSink {
    let state: Evaluator
    let metrics: HealthMetrics

    func record(_ result: JobResult) {
        metrics.recordCheck(probe: result.job.check.probe, duration: result.observation.duration)
        state.record(result)
    }

    func record(batch: [JobResult]) {
        metrics.recordChecks(batch.lazy.map { (probe: $0.job.check.probe, duration: $0.observation.duration) })
        state.record(batch: batch)
    }
}

import Foundation
import HealthAPI
import HealthCatalogue
import HealthCore
import HealthEngine
import HealthInventory
import HealthNATS
import HealthStateStore
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `hive-health run`: the scheduler, the planner, persistence, the transition log (and with NATS, the publishers)
/// as services of one
/// `ServiceGroup`, with graceful shutdown on SIGTERM/SIGINT and a catalogue reload on SIGHUP.
public final class HealthDaemon: Sendable {
    /// How often the daemon looks for changes.
    public struct Timing: Sendable {
        public var inventoryRefresh: Duration = .seconds(10)
        public var catalogueCheck: Duration = .seconds(5)
        public var persistence: Duration = .seconds(5)
        /// With the JetStream KV store: when only counters changed, save the whole state at most this often. The file
        /// store writes counters that alone moved only with a snapshot and at shutdown.
        public var counterPersistence: Duration = .seconds(60)
        /// With the file store: how soon a status change is appended to its journal.
        public var transitionPersistence: Duration = .milliseconds(100)
        public var eventDrain: Duration = .seconds(1)
        /// The scheduler wakes at most once per this window (``Scheduler`` `batchWindow`): a run starts at most this
        /// late and a result is taken at most this late, for twenty wakes a second instead of thousands (a wake costs
        /// tens of microseconds of thread hand-offs: at 10 ms they were a quarter of the daemon's CPU).
        public var schedulerBatch: Duration = .milliseconds(50)
        /// How often freed memory is given back to the system (``HeapTrimming``), in a process that set its allocator
        /// up for the daemon (`hive-health run`).
        public var heapTrim: Duration = .seconds(30)
        /// How often the QMP event service matches its connections to the running instances.
        public var qmpWatchRefresh: Duration = .seconds(1)
        /// The longest wait between reconnection attempts to a QMP socket that went away.
        public var qmpMaxBackoff: Duration = .seconds(30)
        public init() {}
    }

    public let setup: DaemonSetup
    public let evaluator: Evaluator
    public let scheduler: Scheduler<ContinuousClock>
    public let planner: Planner
    /// What every probe was created with; its ``ProbeEnvironment/resources`` are the daemon's shared clients.
    public let probeEnvironment: ProbeEnvironment
    /// The probes that own an event source (``ProbeEventSource``), run by ``ProbeEventSourceService``.
    let eventSources: [any ProbeEventSource]
    let inventory: any InventorySource
    public let store: any StateStore
    /// Set when NATS is configured (``DaemonSetup/natsConfiguration``).
    public let nats: NATSBackbone?
    /// What `GET /metrics` shows.
    public let metrics: HealthMetrics
    /// The CloudWatch API's datapoints (``MetricHistoryService``).
    public let metricHistory: MetricHistory
    /// The transitions the fleet page shows and streams (`GET /events`).
    public let fleetFeed = FleetFeed()
    let timing: Timing
    let logger: Logger
    /// Called once, when the first plan is made (`hive-health run` prints the summary).
    let announce: (@Sendable (StartupSummary) -> Void)?

    /// Restores the last saved state from the store, so statuses, counters and ImpairedSince carry over.
    ///
    /// With NATS configured, the state lives in JetStream KV (when the bucket cannot be reached at start, in the
    /// local file, said in the log) and status, events and metrics are published.
    public init(
        setup: DaemonSetup, logger: Logger, timing: Timing = Timing(), store: (any StateStore)? = nil,
        announce: (@Sendable (StartupSummary) -> Void)? = nil
    ) async throws {
        self.setup = setup
        self.announce = announce
        self.logger = logger
        self.timing = timing
        let nats = try await NATSBackbone.start(setup: setup, logger: logger)
        self.nats = nats
        let store = store ?? nats?.stateStore ?? FileStateStore(directory: setup.stateDirectory, logger: logger)
        self.store = store
        let restored: PersistedState?
        do {
            restored = try await store.load()
        } catch {
            logger.error("state store: \(error); starting without saved state")
            restored = nil
        }
        if let restored {
            logger.info("restored saved state", metadata: ["jobs": "\(restored.jobs.count)", "saved_at": "\(restored.savedAt)"])
        }
        let state = Evaluator(node: setup.node, settings: setup.stateSettings, restored: restored)
        self.evaluator = state
        let environment = setup.probeEnvironment(logger: logger, connection: nats?.connection)
        self.probeEnvironment = environment
        let probes = setup.registry.instantiate(environment: environment)
        self.eventSources = probes.values.compactMap { $0 as? any ProbeEventSource }
        let metrics = HealthMetrics()
        self.metrics = metrics
        let history = MetricHistory()
        do {
            try history.load(from: setup.stateDirectory + "/" + MetricHistoryService.fileName)
        } catch {
            logger.warning("CloudWatch history not loaded: \(error); starting with none")
        }
        self.metricHistory = history
        let scheduler = Scheduler(
            clock: ContinuousClock(), probes: probes, limits: setup.concurrencyLimits,
            sink: MeteredResultSink(state: state, metrics: metrics), logger: logger, batchWindow: timing.schedulerBatch)
        self.scheduler = scheduler
        let inventory = try setup.makeInventory(logger: logger, connection: nats?.connection)
        self.inventory = inventory
        self.planner = Planner(setup: setup, inventory: inventory, evaluator: state, logger: logger) { plan in
            scheduler.replace(plan)
        }
    }

    /// The services in start order; the group stops them in reverse, so the final save comes last.
    public func services() -> [any Service] {
        // Stopped in reverse: the NATS sender goes last, after the final save (which may be on JetStream KV).
        var services: [any Service] = []
        if let nats { services.append(NATSSenderService(daemon: self, nats: nats)) }
        services.append(PersistenceService(daemon: self))
        if let nats {
            services.append(NATSStatusService(daemon: self, nats: nats))
            services.append(RecoveryService(daemon: self, nats: nats))
        }
        services += [
            TransitionLogService(daemon: self),
            SchedulerService(scheduler: scheduler),
            PlannerService(daemon: self),
            ProbeEventSourceService(daemon: self),
            MetricHistoryService(daemon: self),
            APIService(daemon: self),
            ControlSocketService(daemon: self),
        ]
        if HeapTrimming.isConfigured { services.append(HeapTrimService(interval: timing.heapTrim)) }
        if let nats, setup.config.nats.sharedCatalogue {
            services.append(SharedCatalogueService(daemon: self, nats: nats))
        }
        return services
    }

    /// The daemon's services under one group: graceful shutdown on SIGTERM and SIGINT.
    public func makeServiceGroup() -> ServiceGroup {
        ServiceGroup(
            services: services(), gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
            logger: logger)
    }

    /// Runs until SIGTERM or SIGINT (or until the calling task is cancelled).
    public func run() async throws {
        try await makeServiceGroup().run()
    }

    /// What the daemon runs with now, as `hive-health run` prints it at start.
    public func startupSummary() -> StartupSummary {
        let catalogue: String
        switch planner.catalogue?.source {
        case .shared?: catalogue = "the shared catalogue (\(self.planner.catalogue?.summary ?? "-"))"
        default:
            let copy = setup.lastGoodCatalogue
            let inForce = planner.catalogue?.sha256
            let runsCopy = !setup.loadCatalogue().errors.isEmpty && inForce == copy.load()?.sha256
            catalogue =
                runsCopy
                ? "the last good copy \(copy.directory) (\(setup.catalogueSource) has errors)"
                : "\(setup.catalogueSource)"
        }
        let state: String
        if let bucket = nats?.stateStore?.bucket.bucket {
            state = "JetStream KV bucket \(bucket)"
        } else {
            state = setup.stateDirectory
        }
        return StartupSummary(
            node: setup.node.name, apiListen: setup.config.api.listen, instances: planner.instances.count,
            inventory: "\(setup.inventory)", checks: planner.checks.count, catalogue: catalogue,
            environment: setup.environment, state: state, nats: setup.natsConfiguration.map { $0.url + ($0.caCertificateFile.map { " (TLS, CA \($0))" } ?? "") },
            region: setup.node.region, signed: !((try? apiCredentials()) ?? setup.config.api.credentials).isEmpty)
    }

    /// Saves the current state now; false (logged) when the store failed, so the caller tries again.
    @discardableResult
    public func save() async -> Bool {
        do {
            try await store.save(snapshot: evaluator.snapshot())
            return true
        } catch {
            logger.error("state store: cannot save: \(error)")
            return false
        }
    }
}

struct SchedulerService: Service {
    let scheduler: Scheduler<ContinuousClock>
    func run() async throws {
        await cancelWhenGracefulShutdown { await scheduler.run() }
    }
}

struct PlannerService: Service {
    let daemon: HealthDaemon

    func run() async throws {
        let planner = daemon.planner
        planner.reloadCatalogue(force: true)
        await planner.refreshInventory()
        daemon.announce?(daemon.startupSummary())
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await every(daemon.timing.catalogueCheck) { planner.reloadCatalogue() }
            }
            group.addTask {
                await every(daemon.timing.inventoryRefresh) { await planner.refreshInventory() }
            }
            if let hiveKV = daemon.inventory as? HiveKVInventory {
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        await hiveKV.watchChanges { await planner.refreshInventory() }
                    }
                }
            }
            group.addTask {
                let hangups = await UnixSignalsSequence(trapping: .sighup)
                for await _ in hangups.cancelOnGracefulShutdown() {
                    daemon.logger.info("SIGHUP: reloading the catalogue")
                    planner.reloadCatalogue(force: true)
                }
            }
        }
    }
}

struct PersistenceService: Service {
    let daemon: HealthDaemon
    /// The journal may grow to twice the snapshot (and at least this) before a new snapshot replaces both.
    static let minimumJournalBytes = 8 * 1024 * 1024

    func run() async throws {
        if let file = daemon.store as? FileStateStore {
            await runJournal(file)
            return
        }
        // JetStream KV: the instance records of a transition go out within `transitionPersistence` (other nodes'
        // APIs follow them through their fleet index); the whole state below, within `persistence`.
        let records = Task { await writeTransitions() }
        defer { records.cancel() }
        // Status changes are saved within `persistence`; counters alone (every result moves them) only every
        // `counterPersistence`: saving a large fleet's full state every few seconds would cost more than checking it.
        let saved = Mutex<(status: UInt64?, all: UInt64?, at: ContinuousClock.Instant)>((nil, nil, .now))
        await every(daemon.timing.persistence) {
            let status = daemon.evaluator.statusGeneration
            let all = daemon.evaluator.generation
            let last = saved.withLock { $0 }
            let countersDue = all != last.all && last.at.duration(to: .now) >= daemon.timing.counterPersistence
            guard status != last.status || countersDue else { return }
            // A failed save (NATS electing a new leader, a server lost) is retried on the next tick.
            guard await daemon.save() else { return }
            saved.withLock { $0 = (status, all, .now) }
        }
        // Graceful shutdown: the other services have stopped (they started later), so this is the final state.
        await daemon.save()
    }

    /// With the KV store: as a status changes (at most every `transitionPersistence`, so a burst goes together), the
    /// `instance.<id>` records of the instances whose statuses changed. A failed write is left to the next whole save.
    private func writeTransitions() async {
        guard let store = daemon.store as? KeyValueStateStore else { return }
        let seen = Mutex<UInt64?>(nil)
        await onChange(of: daemon.evaluator.changes, atMostEvery: daemon.timing.transitionPersistence) {
            let status = daemon.evaluator.statusGeneration
            guard seen.withLock({ $0 }) != status else { return true }
            seen.withLock { $0 = status }
            guard case .changes(let records, _, let instances) = daemon.evaluator.takeChanges(includeCounters: false)
            else { return true }
            do {
                try await store.writeChangedInstances(instances, jobs: records, at: Date())
            } catch {
                daemon.logger.debug("state store: instance records not written at once: \(error)")
            }
            return true
        }
    }

    /// The file store: a status change, or a streak that began, grew or ended, is appended to the journal as it
    /// happens (a burst together, at most every `transitionPersistence`), and nothing wakes while nothing changes; a
    /// whole snapshot is written only when the plan, the catalogue or a node check's status changed, or when the
    /// journal outgrew the snapshot. Counters that alone moved (a pass after a pass: runs,
    /// history, the last observation) are not re-encoded on a timer: they go with the next snapshot and the final
    /// flush at shutdown, so a crash loses at most those since the last snapshot, never a status or a streak.
    private func runJournal(_ store: FileStateStore) async {
        let timing = daemon.timing
        let written = Mutex<UInt64?>(nil)
        await onChange(of: daemon.evaluator.changes, atMostEvery: timing.transitionPersistence) {
            let generation = daemon.evaluator.journalGeneration
            guard generation != written.withLock({ $0 }) else { return true }
            // A failed write is retried after `transitionPersistence` (as a snapshot).
            guard await flush(store, includeCounters: false) else { return false }
            written.withLock { $0 = generation }
            return true
        }
        // Graceful shutdown: the other services have stopped (they started later), so this is the final state.
        await flush(store, includeCounters: true)
    }

    /// Writes what changed; false (logged) when the store failed.
    @discardableResult
    private func flush(_ store: FileStateStore, includeCounters: Bool) async -> Bool {
        // Most of the state changed (every counter, at shutdown): a snapshot streamed to the file beats a journal line
        // holding it all in memory.
        switch daemon.evaluator.takeChanges(includeCounters: includeCounters, wholeAbove: 0.25) {
        case .none:
            return true
        case .snapshot:
            return await snapshot()
        case .changes(let records, let node, let instances):
            let journal = await store.journalBytes
            let snapshotBytes = await store.snapshotBytes
            let limit = max(Self.minimumJournalBytes, 2 * snapshotBytes)
            guard await store.canAppend, journal <= limit else { return await snapshot() }
            do {
                try await store.append(StateChanges(at: Date(), jobs: records, node: node, instances: instances))
                return true
            } catch {
                daemon.logger.error("state store: cannot append to the journal: \(error); writing a snapshot next")
                daemon.evaluator.requestSnapshot()
                return false
            }
        }
    }

    private func snapshot() async -> Bool {
        guard await daemon.save() else {
            daemon.evaluator.requestSnapshot()
            return false
        }
        return true
    }
}

struct TransitionLogService: Service {
    let daemon: HealthDaemon

    func run() async throws {
        let categories = Mutex(CategoryTransitions())
        let checked = Mutex<(generation: UInt64?, expires: Date?)>((nil, nil))
        @Sendable func drain() {
            let events = daemon.evaluator.drainEvents()
            // A category changes with a check's transition, a plan, or a launch grace ending: looked at on the
            // first two at once and on the third when it comes; the status view is patched, not rebuilt.
            let generation = daemon.evaluator.statusGeneration
            let last = checked.withLock { $0 }
            let unchanged =
                events.isEmpty && generation == last.generation && last.expires.map { Date() < $0 } ?? true
            var changes: [CategoryEvent] = []
            if !unchanged {
                let report = daemon.evaluator.statusView()
                changes = categories.withLock {
                    $0.update(report: report, checkEvents: events, now: Date()) { daemon.evaluator.report(instanceIDs: $0) }
                }
                let expires = daemon.evaluator.nextTimedChange
                checked.withLock { $0 = (generation, expires) }
            }
            log(events, changes)
        }
        await every(daemon.timing.eventDrain) { drain() }
        drain()
    }

    /// One drain feeds the log, the API's live feed and, with NATS, the events publisher.
    private func log(_ events: [HealthEvent], _ changes: [CategoryEvent]) {
        daemon.nats?.publisher.publish(events: events)
        daemon.nats?.publisher.publish(categoryEvents: changes)
        daemon.fleetFeed.publish(
            changes.map {
                FleetFeed.Transition(
                    at: $0.at, node: $0.node, instanceID: $0.instanceID, category: $0.category.rawValue, check: nil,
                    from: $0.from.rawValue, to: $0.to.rawValue,
                    message: $0.checks.map { "\($0.name): \($0.message)" }.joined(separator: "; "))
            }
                + events.map {
                    FleetFeed.Transition(
                        at: $0.at, node: $0.node, instanceID: $0.instanceID, category: $0.category.rawValue,
                        check: $0.check, from: $0.from.rawValue, to: $0.to.rawValue, message: $0.reason)
                })
        for event in events {
            let level: Logger.Level = event.to == .failed ? .warning : .info
            daemon.logger.log(
                level: level, "\(event.check) on \(event.target): \(event.from.rawValue) -> \(event.to.rawValue)",
                metadata: [
                    "instance": "\(event.instanceID ?? "-")", "category": "\(event.category.rawValue)",
                    "reason": "\(event.reason)", "flapping": "\(event.flapping)",
                ])
        }
        for change in changes {
            let level: Logger.Level = change.to == .impaired ? .warning : .info
            daemon.logger.log(
                level: level,
                "\(change.instanceID) \(change.category.rawValue): \(change.from.rawValue) -> \(change.to.rawValue)",
                metadata: ["checks": "\(change.checks.map(\.name).joined(separator: ","))"])
        }
    }
}

/// Runs `body` when `signal` says something changed, at most once per `interval` (a change soon after a run waits
/// for the rest of the interval, so a burst is handled together; one after a quiet interval runs at once), until
/// graceful shutdown; nothing wakes while nothing changes. A `body` that returns false (a failed write) runs again
/// after another `interval`.
func onChange(
    of signal: ChangeSignal, atMostEvery interval: Duration, _ body: @escaping @Sendable () async -> Bool
) async {
    await cancelWhenGracefulShutdown {
        var seen = signal.count
        // Counted from the start: the first change waits out the first interval, as a timer's first tick would.
        var lastRun = ContinuousClock.now
        while !Task.isCancelled {
            await signal.wait(past: seen)
            let due = lastRun.advanced(by: interval)
            if due > .now {
                guard (try? await Task.sleep(until: due, clock: .continuous)) != nil else { return }
            }
            // Read before the body runs: a change during it runs the body again.
            let current = signal.count
            lastRun = .now
            if await body() { seen = current }
        }
    }
}

/// Calls `body` every `interval` until graceful shutdown or cancellation (the first call after one interval).
func every(_ interval: Duration, _ body: @escaping @Sendable () async -> Void) async {
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            await body()
        }
    }
}

import Foundation
import HealthCore
import HealthNATS
import HealthStateStore
import Logging
import Synchronization

/// Reacts to evaluated status: proposes or runs recoveries of system-impaired instances and moves their records on.
///
/// Safety rules (docs/recovery.md): an instance whose auto-recovery is disabled (ModifyInstanceMaintenanceOptions)
/// is never proposed; only system-status impairments recover (an instance-status impairment raises a
/// `person-needed` event); nothing while a failing check is flapping; nothing at all from an agent without a quorum
/// of peers; per-node and per-cluster rate limits (past them a person decides); one recovery per impairment streak
/// and none within the de-duplication window of the previous one; every step is a compare-and-swap on the KV record
/// (resumed after a restart, never repeated) and an event on `<prefix>.health.events`.
///
/// An agent considers the instances of its own node and of nodes its peers declared dead; it moves on the records
/// it owns (``RecoveryRecord/owner``: the creator), and adopts those whose owner agent is no longer heard.
public final class RecoveryPolicy: Sendable {
    public let node: String
    public let connection: NATSConnection
    public let subjects: HealthSubjects
    public let settings: RecoverySettings
    public let readTimeout: Duration
    let events: RecoveryEventPublisher
    let logger: Logger
    private let announced = Mutex<Set<String>>([])

    public init(
        node: String, connection: NATSConnection, subjects: HealthSubjects, settings: RecoverySettings,
        readTimeout: Duration = .seconds(5), events: RecoveryEventPublisher, logger: Logger
    ) {
        self.node = node
        self.connection = connection
        self.subjects = subjects
        self.settings = settings
        self.readTimeout = readTimeout
        self.events = events
        self.logger = logger
    }

    var hive: HiveInstanceCommands {
        HiveInstanceCommands(
            connection: connection, subjects: subjects, readTimeout: readTimeout,
            commandTimeout: settings.commandTimeout)
    }

    /// One round: new proposals, then one step of every open record this agent owns. Does nothing without a quorum.
    public func round(view: ClusterView, deadNodes: Set<String>, now: Date = Date()) async throws {
        guard view.hasQuorum else { return }
        let store = try await RecoveryStore.open(connection: connection, subjects: subjects, readTimeout: readTimeout)
        let statusBucket = try await connection.keyValue(KeyValueBucketConfiguration(bucket: subjects.statusBucket))
        // Only the instances this agent may act on are read: Hive's records of its node and of dead nodes.
        let candidates = try await hive.instances(onNodes: [node] + deadNodes.sorted())
        var statuses: [String: KeyValueStateStore.InstanceRecord] = [:]
        for id in candidates.keys.sorted() {
            statuses[id] = try await Self.statusRecord(id, bucket: statusBucket)
        }
        var current = try await store.current()
        let maintenance = try await store.maintenanceOptions()
        for (id, status) in statuses.sorted(by: { $0.key < $1.key })
        where status.node == node || deadNodes.contains(status.node) {
            if maintenance[id]?.autoRecovery == .disabled, status.status.system.status == .impaired {
                logger.debug("recovery: \(id): auto-recovery disabled (ModifyInstanceMaintenanceOptions)")
                continue
            }
            if let created = try await consider(
                status, hiveInstance: candidates[id], existing: current[id], current: current, store: store, now: now)
            {
                current[id] = created
            }
        }
        // Running recoveries follow their instance wherever Hive puts it: then every record of Hive is read.
        let open = current.values.filter { !$0.record.state.isFinal }
        let instances = open.isEmpty ? [:] : try await hive.instances()
        for versioned in open where statuses[versioned.record.instance] == nil {
            statuses[versioned.record.instance] = try await Self.statusRecord(
                versioned.record.instance, bucket: statusBucket)
        }
        for (_, found) in current.sorted(by: { $0.key < $1.key }) where !found.record.state.isFinal {
            do {
                var versioned = found
                if versioned.record.owner != node {
                    // Another agent's record: taken over only when that agent is no longer heard.
                    guard !view.aliveAgents.contains(versioned.record.owner) else { continue }
                    versioned = try await adopt(versioned, store: store, now: now)
                }
                try await advance(
                    versioned, status: statuses[versioned.record.instance],
                    hiveInstance: instances[versioned.record.instance], store: store, now: now)
            } catch let error as RecoveryError where error.code == .conflict {
                logger.debug("recovery: \(error)")
            }
        }
    }

    static func statusRecord(_ instance: String, bucket: NATSKeyValue) async throws
        -> KeyValueStateStore.InstanceRecord?
    {
        guard let entry = try await bucket.get("instance.\(instance)") else { return nil }
        return try? JSONDecoder.healthMessages.decode(KeyValueStateStore.InstanceRecord.self, from: Data(entry.value))
    }

    // MARK: Proposals

    private func consider(
        _ status: KeyValueStateStore.InstanceRecord, hiveInstance: HiveInstance?, existing: RecoveryStore.Versioned?,
        current: [String: RecoveryStore.Versioned], store: RecoveryStore, now: Date
    ) async throws -> RecoveryStore.Versioned? {
        let health = status.status
        let id = health.instanceID
        guard health.system.status == .impaired else {
            if health.instance.status == .impaired { await announcePersonNeeded(status, now: now) }
            return nil
        }
        let failing = health.system.checks.filter { $0.status == .failed }
        if let flapping = failing.first(where: \.flapping) {
            logger.info("recovery: \(id): \(flapping.name) is flapping; nothing is done while it flaps")
            return nil
        }
        if let existing {
            let previous = existing.record
            guard previous.state.isFinal else { return nil }
            if previous.impairedSince == health.system.impairedSince { return nil }
            if now.timeIntervalSince(previous.createdAt) < settings.deduplicationWindow.timeInterval { return nil }
        }
        guard let hiveInstance, hiveInstance.status == "running" else { return nil }
        let action: RecoveryRecord.Action = hiveInstance.ebsBacked ? .stopStart : .reboot
        let checks = failing.map { "\($0.name): \($0.message)" }.joined(separator: "; ")
        var record = RecoveryRecord(
            id: "\(id)-\(Int64(now.timeIntervalSince1970 * 1000))", instance: id, node: status.node, action: action,
            reason: "system status impaired (\(checks.isEmpty ? "no failing check named" : checks))", owner: node,
            at: now, impairedSince: health.system.impairedSince)
        // The history is read only here: proposals are rare, the history grows.
        let limit = rateLimit(node: status.node, history: try await store.history(), current: current, now: now)
        if settings.automatic, let limit {
            record.needsPerson = true
            record.reason += "; \(limit): a person decides"
            record.steps[0].reason = record.reason
        } else if !settings.automatic {
            record.reason += "; recovery_enabled = false: waiting for approval"
            record.steps[0].reason = record.reason
        }
        let revision: UInt64
        do {
            revision = try await store.insert(record, replacing: existing?.revision)
        } catch let error as RecoveryError where error.code == .conflict {
            return nil
        }
        logger.warning(
            "recovery \(record.id): proposed \(action.rawValue) of \(id)", metadata: ["reason": "\(record.reason)"])
        await publishStep(record, from: nil)
        var versioned = RecoveryStore.Versioned(record: record, revision: revision)
        if settings.automatic, limit == nil {
            versioned.record.move(to: .approved, at: now, reason: "automatic (recovery_enabled = true)", agent: node)
            versioned.revision = try await store.update(versioned.record, revision: revision)
            await publishStep(versioned.record, from: .proposed)
        }
        return versioned
    }

    /// Why a new automatic recovery on `node` would exceed a rate limit, or nil.
    func rateLimit(
        node: String, history: [RecoveryRecord], current: [String: RecoveryStore.Versioned], now: Date
    ) -> String? {
        var records: [String: RecoveryRecord] = [:]
        for record in history { records[record.id] = record }
        for versioned in current.values { records[versioned.record.id] = versioned.record }
        let window = settings.rateWindow.timeInterval
        let acted = records.values.filter { record in
            now.timeIntervalSince(record.createdAt) < window && record.steps.contains { $0.state == .approved }
        }
        let onNode = acted.filter { $0.node == node }.count
        if onNode >= settings.maxPerNode {
            return "rate limit reached: \(onNode) recoveries on node \(node) within \(Int(window)) s"
        }
        if acted.count >= settings.maxPerCluster {
            return "rate limit reached: \(acted.count) recoveries in the cluster within \(Int(window)) s"
        }
        return nil
    }

    private func announcePersonNeeded(_ status: KeyValueStateStore.InstanceRecord, now: Date) async {
        let health = status.status
        let since = health.instance.impairedSince ?? now
        let id = "person-needed/\(health.instanceID)/\(Int64(since.timeIntervalSince1970 * 1000))"
        guard announced.withLock({ $0.insert(id).inserted }) else { return }
        let checks = health.instance.checks.filter { $0.status == .failed }.map { "\($0.name): \($0.message)" }
        await events.publish(
            RecoveryEvent(
                eventID: id, kind: "person-needed", node: status.node, instance: health.instanceID, at: now,
                reason: "instance status impaired (\(checks.joined(separator: "; "))): not recovered automatically, "
                    + "a person is needed", agent: node))
    }

    // MARK: Steps

    /// Takes over a record whose owner agent went silent (compare-and-swap: one agent adopts it). The state and the
    /// step's start time stay: a command already sent is not sent again.
    private func adopt(_ versioned: RecoveryStore.Versioned, store: RecoveryStore, now: Date) async throws
        -> RecoveryStore.Versioned
    {
        var record = versioned.record
        let reason = "adopted by \(node): the owner agent \(record.owner) is not heard"
        record.owner = node
        record.updatedAt = now
        record.steps.append(.init(state: record.state, at: now, reason: reason, agent: node))
        let revision = try await store.update(record, revision: versioned.revision)
        logger.warning("recovery \(record.id): \(reason)")
        await publishStep(record, from: record.state)
        return RecoveryStore.Versioned(record: record, revision: revision)
    }

    private func advance(
        _ versioned: RecoveryStore.Versioned, status: KeyValueStateStore.InstanceRecord?, hiveInstance: HiveInstance?,
        store: RecoveryStore, now: Date
    ) async throws {
        var record = versioned.record
        let from = record.state
        let elapsed = now.timeIntervalSince(record.stepStartedAt)
        let timedOut = elapsed > settings.stepTimeout.timeInterval
        var command: String?
        switch record.state {
        case .approved:
            switch record.action {
            case .stopStart:
                record.move(to: .stopping, at: now, reason: "stop_instance sent to Hive", agent: node)
                command = "stop_instance"
            case .reboot:
                record.move(to: .rebooting, at: now, reason: "reboot_instance sent to Hive", agent: node)
                command = "reboot_instance"
            case .terminate:
                record.move(to: .terminating, at: now, reason: "delete_instance sent to Hive", agent: node)
                command = "delete_instance"
            }
        case .stopping:
            if hiveInstance?.status == "stopped" {
                record.move(
                    to: .starting, at: now,
                    reason: "Hive reports it stopped; start sent on ec2.start (Spinifex starts it on its last node, "
                        + "\(hiveInstance?.lastNode ?? record.node), unless that node is down or full)", agent: node)
                command = "start_instance"
            } else if timedOut {
                record.move(to: .failed, at: now, reason: "not stopped within \(Int(elapsed)) s", agent: node)
            }
        case .starting:
            if let hiveInstance, hiveInstance.status == "running" {
                let placed = hiveInstance.node.map { " on \($0)" } ?? ""
                record.move(to: .done, at: now, reason: "Hive reports it running\(placed)", agent: node)
            } else if timedOut {
                record.move(to: .failed, at: now, reason: "not running within \(Int(elapsed)) s", agent: node)
            }
        case .rebooting:
            let healthy =
                status.map { $0.savedAt > record.stepStartedAt && $0.status.system.status == .ok } ?? false
            if healthy {
                record.move(to: .done, at: now, reason: "system status ok after the reboot", agent: node)
            } else if elapsed >= settings.gracePeriod.timeInterval {
                if settings.terminationAllowed {
                    record.move(
                        to: .terminating, at: now,
                        reason: "still impaired \(Int(elapsed)) s after the reboot; delete_instance sent "
                            + "(termination allowed)", agent: node)
                    record.action = .terminate
                    command = "delete_instance"
                } else {
                    record.action = .terminate
                    record.needsPerson = true
                    record.move(
                        to: .proposed, at: now,
                        reason: "still impaired \(Int(elapsed)) s after the reboot; termination is not allowed by "
                            + "configuration: a person decides (approve deletes the instance)", agent: node)
                }
            }
        case .terminating:
            if hiveInstance == nil || hiveInstance?.status == "terminated" {
                record.move(to: .done, at: now, reason: "Hive reports it terminated", agent: node)
            } else if timedOut {
                record.move(to: .failed, at: now, reason: "not terminated within \(Int(elapsed)) s", agent: node)
            }
        default:
            return
        }
        guard record.state != from || record.steps.count != versioned.record.steps.count else { return }
        // The state change is saved before the command is sent: after a crash the step is not sent twice.
        let revision = try await store.update(record, revision: versioned.revision)
        await publishStep(record, from: from)
        guard let command else { return }
        // Without Hive's record the owner is unknown: the command goes as the global account and a refusal is
        // recorded as such (never taken for success).
        let target =
            hiveInstance
            ?? HiveInstance(id: record.instance, node: record.node, status: "unknown", ebsBacked: false)
        do {
            try await hive.send(command, instance: target)
            logger.notice("recovery \(record.id): \(command) sent for \(record.instance)")
        } catch {
            let previous = record.state
            record.move(to: .failed, at: Date(), reason: "\(command) failed: \(error)", agent: node)
            _ = try await store.update(record, revision: revision)
            await publishStep(record, from: previous)
        }
    }

    private func publishStep(_ record: RecoveryRecord, from: RecoveryRecord.State?) async {
        await events.publish(RecoveryEvent.step(record, from: from))
    }
}

extension RecoveryEvent {
    /// The event for the latest step of `record` (id `recovery/<record id>/<step number>`).
    public static func step(_ record: RecoveryRecord, from: RecoveryRecord.State?) -> RecoveryEvent {
        let last = record.steps.last
        return RecoveryEvent(
            eventID: "recovery/\(record.id)/\(record.steps.count)", kind: "recovery", node: record.node,
            instance: record.instance, recoveryID: record.id, action: record.action.rawValue, from: from?.rawValue,
            to: record.state.rawValue, at: last?.at ?? record.updatedAt, reason: last?.reason ?? record.reason,
            agent: last?.agent ?? record.owner)
    }
}

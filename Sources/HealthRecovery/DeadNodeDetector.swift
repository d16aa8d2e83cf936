import Foundation
import HealthCore
import HealthNATS
import HealthStateStore
import Logging
import Synchronization

/// Peers deciding that a node is dead, since a dead node cannot report itself.
///
/// Each round the agent reads every agent's heartbeat (`agent.<node>` in the status bucket), Hive's heartbeats
/// (`heartbeat.<node>` in the cluster-state bucket) and the votes; writes its own opinion on each node
/// (`vote.<node>.<voter>` in the votes bucket); and when a quorum of alive agents agrees that a node is dead, tries
/// to create the verdict `dead.<node>`. KV create lets exactly one agent win; the winner marks the node's running
/// instances system-impaired in the status bucket and publishes one transition event per instance. An agent that
/// hears fewer than a quorum of agents (``ClusterView/hasQuorum``) writes nothing at all.
public final class DeadNodeDetector: Sendable {
    /// The check name under which a dead node's instances are impaired.
    public static let checkName = "node.heartbeat.peers"

    public let node: String
    public let connection: NATSConnection
    public let subjects: HealthSubjects
    public let settings: PeerSettings
    let events: RecoveryEventPublisher
    let logger: Logger
    private let partitioned = Atomic<Bool>(false)

    public init(
        node: String, connection: NATSConnection, subjects: HealthSubjects, settings: PeerSettings,
        events: RecoveryEventPublisher, logger: Logger
    ) {
        self.node = node
        self.connection = connection
        self.subjects = subjects
        self.settings = settings
        self.events = events
        self.logger = logger
    }

    /// The outcome of one round.
    public struct Round: Sendable {
        public var view: ClusterView
        /// The verdicts standing after the round, by node.
        public var verdicts: [String: DeadNodeVerdict]
        /// Verdicts this agent created in this round.
        public var declared: [String]
    }

    func votesBucket() async throws -> NATSKeyValue {
        var configuration = KeyValueBucketConfiguration(bucket: subjects.votesBucket)
        configuration.history = 1
        return try await connection.keyValue(configuration)
    }

    /// Reads what the cluster looks like now (no writes).
    public func observe(now: Date = Date()) async throws -> (view: ClusterView, verdicts: [String: KeyValueEntry]) {
        let status = try await connection.keyValue(KeyValueBucketConfiguration(bucket: subjects.statusBucket))
        let agents = try await status.entries(matching: "agent.*", timeout: settings.readTimeout)
        var hive: [String: KeyValueEntry] = [:]
        var shutdown: Set<String> = []
        if let cluster = try? await connection.keyValue(subjects.clusterStateBucket) {
            hive = try await cluster.entries(matching: "heartbeat.*", timeout: settings.readTimeout)
            let markers = try await cluster.entries(matching: "shutdown.*", timeout: settings.readTimeout)
            shutdown = Set(markers.keys.map { String($0.dropFirst("shutdown.".count)) })
        }
        let votes = try await votesBucket().entries(matching: ">", timeout: settings.readTimeout)
        var view = ClusterView(
            observer: node, at: now,
            agentHeartbeats: NodeHeartbeat.timestamps(agents.mapValues(\.value), prefix: "agent."),
            hiveHeartbeats: NodeHeartbeat.timestamps(hive.mapValues(\.value), prefix: "heartbeat."),
            shutdownNodes: shutdown, settings: settings)
        var verdicts: [String: KeyValueEntry] = [:]
        for (key, entry) in votes {
            if key.hasPrefix("dead.") {
                verdicts[String(key.dropFirst("dead.".count))] = entry
            } else if key.hasPrefix("vote."),
                let vote = try? JSONDecoder.healthMessages.decode(NodeVote.self, from: Data(entry.value))
            {
                view.votes[vote.node, default: [:]][vote.voter] = vote
            }
        }
        return (view, verdicts)
    }

    /// One round: observe, vote, declare and apply verdicts, clear verdicts of nodes that came back.
    public func round(now: Date = Date()) async throws -> Round {
        let bucket = try await votesBucket()
        var (view, verdictEntries) = try await observe(now: now)
        var verdicts: [String: DeadNodeVerdict] = [:]
        for (name, entry) in verdictEntries {
            if let verdict = try? JSONDecoder.healthMessages.decode(DeadNodeVerdict.self, from: Data(entry.value)) {
                verdicts[name] = verdict
            }
        }
        guard view.hasQuorum else {
            if !partitioned.exchange(true, ordering: .acquiringAndReleasing) {
                let heard = "\(view.aliveAgents.count) of \(view.members.count) agents heard (quorum \(view.quorum))"
                logger.warning(
                    "peers: only \(heard): possibly partitioned; no votes, verdicts or recoveries from this agent")
            }
            return Round(view: view, verdicts: verdicts, declared: [])
        }
        if partitioned.exchange(false, ordering: .acquiringAndReleasing) {
            logger.info("peers: quorum heard again (\(view.aliveAgents.count) of \(view.members.count) agents)")
        }
        // Votes: an opinion is rewritten when it changes or before it ages out of the alive window.
        for other in view.nodes.sorted() where other != node {
            let reason = view.deathReason(of: other)
            let previous = view.votes[other]?[node]
            let dead = reason != nil
            let stale = previous.map { now.timeIntervalSince($0.at) > settings.agentAliveWindow.timeInterval / 2 }
            guard previous?.dead != dead || (dead && stale == true) else { continue }
            if previous == nil, !dead { continue }
            let vote = NodeVote(node: other, voter: node, dead: dead, at: now, reason: reason ?? "alive")
            try await bucket.put(
                NodeVote.key(node: other, voter: node), value: Array(try JSONEncoder.healthMessages.encode(vote)))
            view.votes[other, default: [:]][node] = vote
        }
        var declared: [String] = []
        for other in view.nodes.sorted() where other != node {
            if let existing = verdictEntries[other] {
                if view.deathReason(of: other) == nil {
                    try await clear(other, entry: existing, verdict: verdicts[other], bucket: bucket, now: now)
                    verdicts[other] = nil
                    verdictEntries[other] = nil
                } else if var verdict = verdicts[other], !verdict.applied,
                    now.timeIntervalSince(verdict.declaredAt)
                        > 2 * (settings.interval.timeInterval + settings.readTimeout.timeInterval)
                {
                    // The declaring agent did not finish (it may have died): applying again is idempotent.
                    verdict = try await apply(verdict, revision: existing.revision, bucket: bucket)
                    verdicts[other] = verdict
                }
                continue
            }
            guard view.quorumAgreesDead(other), let reason = view.deathReason(of: other) else { continue }
            let voters = view.deadVoters(of: other)
            var verdict = DeadNodeVerdict(
                node: other, generation: 0, declaredAt: now, declaredBy: node, voters: voters, quorum: view.quorum,
                reason: "\(reason); dead for \(voters.joined(separator: ", ")) (quorum \(view.quorum) of "
                    + "\(view.members.count) agents)")
            let revision: UInt64
            do {
                revision = try await bucket.create(
                    DeadNodeVerdict.key(node: other), value: Array(try JSONEncoder.healthMessages.encode(verdict)))
            } catch let error as NATSError where error.code == .alreadyExists {
                continue  // Another agent declared it first.
            }
            verdict.generation = revision
            logger.warning("peers: node \(other) declared dead", metadata: ["reason": "\(verdict.reason)"])
            verdict = try await apply(verdict, revision: revision, bucket: bucket)
            verdicts[other] = verdict
            declared.append(other)
        }
        return Round(view: view, verdicts: verdicts, declared: declared)
    }

    /// Marks the dead node's running instances system-impaired in the status bucket and publishes the transitions;
    /// then records that on the verdict (compare-and-swap: of two agents applying, one records it).
    func apply(_ verdict: DeadNodeVerdict, revision: UInt64, bucket: NATSKeyValue) async throws -> DeadNodeVerdict {
        var verdict = verdict
        let hive = HiveInstanceCommands(
            connection: connection, subjects: subjects, readTimeout: settings.readTimeout, commandTimeout: .seconds(1))
        let instances = try await hive.instances(on: verdict.node).filter { $0.status == "running" }
        let status = try await connection.keyValue(KeyValueBucketConfiguration(bucket: subjects.statusBucket))
        let encoder = JSONEncoder.healthMessages
        let failing = CheckStatus(
            name: Self.checkName, probe: "node.heartbeat", target: verdict.node, status: .failed,
            message: "node declared dead by its peers: \(verdict.reason)", observedAt: verdict.declaredAt,
            impairedSince: verdict.declaredAt)
        let system = CategoryStatus(status: .impaired, impairedSince: verdict.declaredAt, checks: [failing])
        let unknown = CategoryStatus(status: .insufficientData)
        var previous: [String: KeyValueStateStore.InstanceRecord] = [:]
        for instance in instances {
            if let entry = try await status.get("instance.\(instance.id)") {
                previous[instance.id] = try? JSONDecoder.healthMessages.decode(
                    KeyValueStateStore.InstanceRecord.self, from: Data(entry.value))
            }
            let health = InstanceHealth(
                instanceID: instance.id, state: .running,
                availabilityZone: previous[instance.id]?.status.availabilityZone ?? "", system: system,
                instance: unknown, ebs: unknown)
            let record = KeyValueStateStore.InstanceRecord(
                node: verdict.node, savedAt: verdict.declaredAt, status: health)
            try await status.put("instance.\(instance.id)", value: Array(try encoder.encode(record)))
        }
        try await status.put(
            "node.\(verdict.node)", value: Array(try encoder.encode(NodeHealth(name: verdict.node, system: system))))
        for instance in instances {
            let checks = previous[instance.id]?.status.system.checks ?? []
            let from = checks.first(where: { $0.name == Self.checkName })?.status ?? .passed
            let transition = CheckTransition(
                from: from == .failed ? .passed : from, to: .failed, at: verdict.declaredAt, reason: verdict.reason,
                flapping: false, flappingChanged: false)
            var event = HealthEvent(
                node: verdict.node, instanceID: instance.id, category: .system, check: Self.checkName,
                probe: "node.heartbeat", target: verdict.node, transition: transition)
            // The target is the node, the same for every instance: the instance makes the id (and so the stream's
            // Nats-Msg-Id de-duplication) one per instance, not one per node.
            event.eventID += "/\(instance.id)"
            await events.publish(event, id: event.eventID)
        }
        await events.publish(
            RecoveryEvent(
                eventID: "node-dead/\(verdict.node)/\(verdict.generation)", kind: "node-dead", node: verdict.node,
                at: verdict.declaredAt, reason: verdict.reason, agent: node))
        verdict.instances = instances.map(\.id)
        verdict.applied = true
        do {
            try await bucket.update(
                DeadNodeVerdict.key(node: verdict.node), value: Array(try encoder.encode(verdict)),
                expectedRevision: revision)
        } catch let error as NATSError where error.code == .wrongRevision {
            logger.debug("peers: verdict on \(verdict.node) recorded by another agent")
        }
        return verdict
    }

    /// The node is heard again: its verdict goes (a later death is a new generation).
    func clear(_ other: String, entry: KeyValueEntry, verdict: DeadNodeVerdict?, bucket: NATSKeyValue, now: Date)
        async throws
    {
        try await bucket.delete(DeadNodeVerdict.key(node: other))
        logger.info("peers: node \(other) is heard again; its dead verdict is cleared")
        await events.publish(
            RecoveryEvent(
                eventID: "node-alive/\(other)/\(verdict?.generation ?? entry.revision)", kind: "node-alive",
                node: other,
                at: now, reason: "heartbeat heard again", agent: node))
    }
}

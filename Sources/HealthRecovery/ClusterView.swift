import Foundation
import HealthCore

/// What one agent sees of the cluster at one moment: the agents' heartbeats, Hive's node heartbeats and the votes.
///
/// Pure: built from KV snapshots, so the quorum rules are tested without a server.
public struct ClusterView: Sendable, Hashable {
    /// The agent looking (its node name); it is alive by definition.
    public var observer: String
    public var at: Date
    /// `agent.<node>` heartbeat times of hive-health agents.
    public var agentHeartbeats: [String: Date]
    /// `heartbeat.<node>` times of Hive's daemons.
    public var hiveHeartbeats: [String: Date]
    /// Node -> voter -> vote.
    public var votes: [String: [String: NodeVote]]
    /// Nodes with a `shutdown.<node>` marker in the cluster-state bucket: Spinifex's daemon writes it on a clean
    /// shutdown and deletes it when it starts again (spinifex/daemon/jetstream.go `WriteShutdownMarker`). A node
    /// shut down on purpose is never dead.
    public var shutdownNodes: Set<String>
    public var settings: PeerSettings

    public init(
        observer: String, at: Date, agentHeartbeats: [String: Date], hiveHeartbeats: [String: Date],
        votes: [String: [String: NodeVote]] = [:], shutdownNodes: Set<String> = [], settings: PeerSettings
    ) {
        self.observer = observer
        self.at = at
        self.agentHeartbeats = agentHeartbeats
        self.hiveHeartbeats = hiveHeartbeats
        self.votes = votes
        self.shutdownNodes = shutdownNodes
        self.settings = settings
    }

    private func age(_ date: Date?) -> TimeInterval {
        guard let date else { return .infinity }
        return at.timeIntervalSince(date)
    }

    /// Agents heard within the membership window (and the observer): the cluster whose majority makes a quorum.
    public var members: Set<String> {
        var members = Set(agentHeartbeats.filter { age($0.value) <= settings.membershipWindow.timeInterval }.keys)
        members.insert(observer)
        return members
    }

    /// Agents heard within the alive window (and the observer): whose votes count.
    public var aliveAgents: Set<String> {
        var alive = Set(agentHeartbeats.filter { age($0.value) <= settings.agentAliveWindow.timeInterval }.keys)
        alive.insert(observer)
        return alive
    }

    /// A majority of the members, never fewer than 2 unless the cluster has a single agent.
    public var quorum: Int {
        let count = members.count
        return count <= 1 ? 1 : max(2, count / 2 + 1)
    }

    /// Whether the observer hears at least a quorum of agents alive (itself included). Without it the observer is
    /// possibly partitioned: it votes on nothing, declares nothing and acts on nothing.
    public var hasQuorum: Bool { aliveAgents.count >= quorum }

    /// Every node known from either kind of heartbeat.
    public var nodes: Set<String> { Set(agentHeartbeats.keys).union(hiveHeartbeats.keys) }

    /// Why `node` looks dead to the observer (Hive's heartbeat stale or missing and its agent silent), or nil; nil
    /// too for a node with a shutdown marker (a planned shutdown).
    public func deathReason(of node: String) -> String? {
        guard node != observer, !shutdownNodes.contains(node) else { return nil }
        let hiveAge = age(hiveHeartbeats[node])
        let agentAge = age(agentHeartbeats[node])
        let maxAge = settings.heartbeatMaxAge.timeInterval
        guard hiveAge > maxAge, agentAge > settings.agentAliveWindow.timeInterval else { return nil }
        let hive = hiveAge.isFinite ? "Hive heartbeat \(Int(hiveAge)) s old" : "no Hive heartbeat"
        let agent = agentAge.isFinite ? "agent silent for \(Int(agentAge)) s" : "no agent heartbeat"
        return "\(hive) (max \(Int(maxAge)) s), \(agent)"
    }

    /// The alive agents that vote `node` dead now (votes younger than the alive window).
    public func deadVoters(of node: String) -> [String] {
        let alive = aliveAgents
        return (votes[node] ?? [:]).values.filter {
            $0.dead && alive.contains($0.voter) && age($0.at) <= settings.agentAliveWindow.timeInterval
        }.map(\.voter).sorted()
    }

    /// Whether a quorum of alive agents agrees that `node` is dead (and the observer itself has a quorum).
    public func quorumAgreesDead(_ node: String) -> Bool {
        hasQuorum && deadVoters(of: node).count >= quorum
    }
}

/// One agent's opinion on one node: `vote.<node>.<voter>` in the votes bucket.
public struct NodeVote: Sendable, Hashable, Codable {
    public var node: String
    public var voter: String
    public var dead: Bool
    public var at: Date
    public var reason: String

    public init(node: String, voter: String, dead: Bool, at: Date, reason: String) {
        self.node = node
        self.voter = voter
        self.dead = dead
        self.at = at
        self.reason = reason
    }

    public static func key(node: String, voter: String) -> String { "vote.\(node).\(voter)" }
}

/// The verdict `dead.<node>`: written once per death by exactly one agent (KV create), numbered by `generation`.
public struct DeadNodeVerdict: Sendable, Hashable, Codable {
    public var node: String
    /// The KV revision of the verdict's creation: a new death of the same node gets a new generation.
    public var generation: UInt64
    public var declaredAt: Date
    public var declaredBy: String
    public var voters: [String]
    public var quorum: Int
    public var reason: String
    /// The instances marked impaired; set once their status records were written.
    public var instances: [String]
    public var applied: Bool

    public init(
        node: String, generation: UInt64, declaredAt: Date, declaredBy: String, voters: [String], quorum: Int,
        reason: String, instances: [String] = [], applied: Bool = false
    ) {
        self.node = node
        self.generation = generation
        self.declaredAt = declaredAt
        self.declaredBy = declaredBy
        self.voters = voters
        self.quorum = quorum
        self.reason = reason
        self.instances = instances
        self.applied = applied
    }

    public static func key(node: String) -> String { "dead.\(node)" }

    enum CodingKeys: String, CodingKey {
        case node, generation, voters, quorum, reason, instances, applied
        case declaredAt = "declared_at"
        case declaredBy = "declared_by"
    }
}

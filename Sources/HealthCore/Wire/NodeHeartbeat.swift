import Foundation

/// A node's heartbeat record, one shape for both writers: Hive's `heartbeat.<node>` in `<prefix>-cluster-state`
/// (DESIGN §5: `node`, `timestamp` RFC 3339 UTC, `epoch`, `services`, capacity fields, every 10 s) and the agent's
/// own `agent.<node>` in the status bucket (`node`, `timestamp`, `agent` and the `catalogue` it runs). Fields not
/// named here are ignored; the timestamp is read by ``RFC3339/parse(_:)`` (Go writes nanoseconds and offsets).
public struct NodeHeartbeat: Sendable, Hashable, Codable {
    public var node: String
    public var timestamp: Date
    /// `hive-health` in the agent's heartbeat; nil in Hive's.
    public var agent: String?
    /// The catalogue the agent runs (agent heartbeats only).
    public var catalogue: CatalogueVersion?

    /// A record larger than this is refused unread.
    public static let maximumSize = 64 * 1024

    public init(node: String, timestamp: Date, agent: String? = nil, catalogue: CatalogueVersion? = nil) {
        self.node = node
        self.timestamp = timestamp
        self.agent = agent
        self.catalogue = catalogue
    }

    /// Why a heartbeat record cannot be read.
    public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
        public init(reason: String) { self.reason = reason }
    }

    /// Reads one record; `node` stands in for a record without its `node` field (the key names the node).
    public static func decode(_ record: [UInt8], node: String = "") throws(DecodeError) -> NodeHeartbeat {
        guard record.count <= maximumSize else { throw DecodeError(reason: "record larger than 64 KiB") }
        let loose: Loose
        do {
            loose = try JSONDecoder().decode(Loose.self, from: Data(record))
        } catch {
            throw DecodeError(reason: "not a JSON object")
        }
        guard let text = loose.timestamp else { throw DecodeError(reason: "no timestamp string") }
        guard let timestamp = RFC3339.parse(text) else {
            throw DecodeError(reason: "bad timestamp '\(text.prefix(64))'")
        }
        return NodeHeartbeat(
            node: loose.node ?? node, timestamp: timestamp, agent: loose.agent, catalogue: loose.catalogue)
    }

    /// The record as the agent writes it (``JSONEncoder/healthMessages``).
    public func encoded() throws -> [UInt8] {
        Array(try JSONEncoder.healthMessages.encode(self))
    }

    /// The fields as found: any that is missing or of another type is nil, so the reason can be precise.
    private struct Loose: Decodable {
        var node: String?
        var timestamp: String?
        var agent: String?
        var catalogue: CatalogueVersion?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            node = try? container.decodeIfPresent(String.self, forKey: .node)
            timestamp = try? container.decodeIfPresent(String.self, forKey: .timestamp)
            agent = try? container.decodeIfPresent(String.self, forKey: .agent)
            catalogue = try? container.decodeIfPresent(CatalogueVersion.self, forKey: .catalogue)
        }
    }

    enum CodingKeys: String, CodingKey {
        case node, timestamp, agent, catalogue
    }
}

extension NodeHeartbeat {
    /// The timestamps of the heartbeats among `values` whose keys start with `prefix` (`agent.`, `heartbeat.`), by
    /// the node the key names; records that cannot be read are left out.
    public static func timestamps(_ values: [String: [UInt8]], prefix: String) -> [String: Date] {
        var result: [String: Date] = [:]
        for (key, value) in values where key.hasPrefix(prefix) {
            let node = String(key.dropFirst(prefix.count))
            guard let heartbeat = try? decode(value, node: node) else { continue }
            result[node] = heartbeat.timestamp
        }
        return result
    }
}

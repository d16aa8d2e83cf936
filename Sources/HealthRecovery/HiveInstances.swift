import Foundation
import HealthNATS
import Logging

/// An instance as Hive's `hive-instance-state` describes it: the few fields recovery needs.
public struct HiveInstance: Sendable, Hashable {
    public var id: String
    /// The node whose `node.<node>` record holds it; nil for a stopped instance (`instance.<id>`).
    public var node: String?
    /// Hive's status (`running`, `stopped`, `terminated`...).
    public var status: String
    /// Every volume is on EBS (a boot volume among `ebs_requests`): stop/start moves it to another host.
    public var ebsBacked: Bool
}

/// Reads Hive's instance records and sends Hive's instance commands (`ec2.cmd.<id>`, DESIGN §5).
public struct HiveInstanceCommands: Sendable {
    public let connection: NATSConnection
    public let subjects: HealthSubjects
    public let readTimeout: Duration
    public let commandTimeout: Duration

    public init(connection: NATSConnection, subjects: HealthSubjects, readTimeout: Duration, commandTimeout: Duration) {
        self.connection = connection
        self.subjects = subjects
        self.readTimeout = readTimeout
        self.commandTimeout = commandTimeout
    }

    /// Every instance Hive knows (running ones under `node.<node>`, stopped ones as `instance.<id>`).
    public func instances() async throws -> [String: HiveInstance] {
        let bucket = try await connection.keyValue(subjects.instanceStateBucket)
        let entries = try await bucket.entries(matching: ">", timeout: readTimeout)
        var found: [String: HiveInstance] = [:]
        for (key, entry) in entries.sorted(by: { $0.key < $1.key }) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(entry.value)) as? [String: Any] else {
                continue
            }
            if key.hasPrefix("node.") {
                let node = String(key.dropFirst("node.".count))
                for (id, value) in (object["vms"] as? [String: Any]) ?? [:] {
                    guard let vm = value as? [String: Any] else { continue }
                    found[id] = Self.instance(id: id, node: node, vm: vm)
                }
            } else if key.hasPrefix("instance.") {
                let id = String(key.dropFirst("instance.".count))
                // A running record under a node wins over a leftover stopped one.
                if found[id] == nil { found[id] = Self.instance(id: id, node: nil, vm: object) }
            }
        }
        return found
    }

    /// The instances in Hive's `node.<node>` records of `nodes` only (cheaper than reading every node's).
    public func instances(onNodes nodes: [String]) async throws -> [String: HiveInstance] {
        let bucket = try await connection.keyValue(subjects.instanceStateBucket)
        var found: [String: HiveInstance] = [:]
        for node in nodes {
            guard let entry = try await bucket.get("node.\(node)"),
                let object = try? JSONSerialization.jsonObject(with: Data(entry.value)) as? [String: Any]
            else { continue }
            for (id, value) in (object["vms"] as? [String: Any]) ?? [:] {
                guard let vm = value as? [String: Any] else { continue }
                found[id] = Self.instance(id: id, node: node, vm: vm)
            }
        }
        return found
    }

    /// The running instances on `node`.
    public func instances(on node: String) async throws -> [HiveInstance] {
        try await instances(onNodes: [node]).values.sorted { $0.id < $1.id }
    }

    static func instance(id: String, node: String?, vm: [String: Any]) -> HiveInstance {
        let status = (vm["status"] as? String) ?? "unknown"
        let requests = ((vm["ebs_requests"] as? [String: Any])?["Requests"] as? [[String: Any]]) ?? []
        let ebsBacked = requests.contains { ($0["Boot"] as? Bool) == true }
        return HiveInstance(id: id, node: node, status: status, ebsBacked: ebsBacked)
    }

    /// Sends `attribute` (`stop_instance`, `start_instance`, `reboot_instance`, `delete_instance`) to Hive and
    /// waits for its reply. A reply with an `error` field, no responder or no reply in time throws.
    public func send(_ attribute: String, instance: String) async throws {
        let body: [String: Any] = ["id": instance, "attributes": [attribute: true]]
        let payload = Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        let reply = try await connection.request(
            subjects.command(instance: instance), payload: payload,
            timeout: commandTimeout)
        if let object = try? JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any],
            let error = object["error"], !(error is NSNull)
        {
            throw RecoveryError(code: .commandRefused, message: "\(attribute) \(instance): Hive answered \(error)")
        }
    }
}

/// A recovery operation that could not be done; the policy records it on the recovery record, it never crashes.
public struct RecoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; new codes may be added.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Hive answered the command with an error.
        public static let commandRefused = Code(rawValue: "command-refused")
        /// No recovery record has this id.
        public static let notFound = Code(rawValue: "not-found")
        /// The record is not in a state that allows the operation.
        public static let wrongState = Code(rawValue: "wrong-state")
        /// Someone else changed the record at the same time; read it again.
        public static let conflict = Code(rawValue: "conflict")
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

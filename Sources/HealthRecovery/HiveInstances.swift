import Foundation
import HealthCore
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
    /// The VM's `account_id` (spinifex/vm/vm.go `VM.AccountID`); nil for an untenanted VM.
    public var accountID: String?
    /// `last_node`: where a stopped instance last ran (Spinifex starts it there again unless that node is down or
    /// full).
    public var lastNode: String?

    public init(
        id: String, node: String?, status: String, ebsBacked: Bool, accountID: String? = nil, lastNode: String? = nil
    ) {
        self.id = id
        self.node = node
        self.status = status
        self.ebsBacked = ebsBacked
        self.accountID = accountID
        self.lastNode = lastNode
    }

    /// A VM record as the inventory parsed it; `node` is the node whose `node.<node>` record holds it, nil for a
    /// stopped instance's own record (then the parsed node is its `last_node`).
    init(_ info: InstanceInfo, node: String?) {
        self.init(
            id: info.id, node: node, status: info.state.rawValue, ebsBacked: info.volumes.contains(where: \.boot),
            accountID: info.accountID, lastNode: info.node.isEmpty ? nil : info.node)
    }

    /// The `X-Account-ID` a command about this instance carries: its owner, or Spinifex's `GlobalAccountID`
    /// (`000000000000`, spinifex/utils/account.go) for an untenanted VM, which only that account may command.
    public var commandAccount: String {
        accountID.flatMap { $0.isEmpty ? nil : $0 } ?? HiveInstanceCommands.globalAccount
    }
}

/// Reads Hive's instance records and sends Hive's instance commands (`ec2.cmd.<id>`, DESIGN §5). Made by the
/// recovery policy and the dead-node detector with their connection and timeouts (its initialiser is the module's).
public struct HiveInstanceCommands: Sendable {
    public let connection: NATSConnection
    public let subjects: HealthSubjects
    public let readTimeout: Duration
    public let commandTimeout: Duration

    /// Every instance Hive knows (running ones under `node.<node>`, stopped ones as `instance.<id>`).
    public func instances() async throws -> [String: HiveInstance] {
        let bucket = try await connection.keyValue(subjects.instanceStateBucket)
        let entries = try await bucket.entries(matching: ">", timeout: readTimeout)
        var found: [String: HiveInstance] = [:]
        for (key, entry) in entries.sorted(by: { $0.key < $1.key }) where key.hasPrefix("node.") {
            found.merge(Self.instances(inNodeRecord: entry.value, node: String(key.dropFirst("node.".count)))) { $1 }
        }
        for (key, entry) in entries where key.hasPrefix("instance.") {
            // A running record under a node wins over a leftover stopped one.
            let parsed = HiveVMRecord.parseInstance(
                entry.value, node: NodeInfo(name: ""), layout: Self.layout, agentSocketExists: Self.noAgentSockets)
            guard case .success(let info) = parsed, found[info.id] == nil
            else { continue }
            found[info.id] = HiveInstance(info, node: nil)
        }
        return found
    }

    /// The instances in Hive's `node.<node>` records of `nodes` only (cheaper than reading every node's).
    public func instances(onNodes nodes: [String]) async throws -> [String: HiveInstance] {
        let bucket = try await connection.keyValue(subjects.instanceStateBucket)
        var found: [String: HiveInstance] = [:]
        for node in nodes {
            guard let entry = try await bucket.get("node.\(node)") else { continue }
            found.merge(Self.instances(inNodeRecord: entry.value, node: node)) { $1 }
        }
        return found
    }

    /// The running instances on `node`.
    public func instances(on node: String) async throws -> [HiveInstance] {
        try await instances(onNodes: [node]).values.sorted { $0.id < $1.id }
    }

    /// Hive's VM records are read by the one parser (``HealthCore/HiveVMRecord``); the socket paths it derives from a
    /// layout, and whether a guest agent socket is there, are not used here (the VMs run on other nodes).
    private static let layout = RuntimeLayout(directory: RuntimeLayout.spinifexRunDirectory)
    private static func noAgentSockets(_ path: String) -> Bool { false }

    /// The VMs of one `node.<node>` value (`{"vms": {...}}`); records the parser refuses are left out.
    static func instances(inNodeRecord value: [UInt8], node: String) -> [String: HiveInstance] {
        let snapshot = HiveVMRecord.parseDocumentOrSkip(
            value, node: NodeInfo(name: node), layout: layout, agentSocketExists: noAgentSockets)
        return Dictionary(snapshot.instances.map { ($0.id, HiveInstance($0, node: node)) }) { first, _ in first }
    }

    /// Spinifex's `utils.GlobalAccountID`: the account of untenanted VMs.
    public static let globalAccount = "000000000000"
    /// Spinifex's `utils.AccountIDHeader`.
    public static let accountHeader = "X-Account-ID"
    /// The queue subject that starts a stopped instance (spinifex/daemon/daemon.go, `spinifex-workers` group).
    public static let startSubject = "ec2.start"

    /// Sends `attribute` (`stop_instance`, `reboot_instance`, `delete_instance`) on `ec2.cmd.<id>` as
    /// `types.EC2InstanceCommand` (spinifex/types/ec2.go) with `X-Account-ID: <owner>` and waits for the reply.
    /// `start_instance` of a stopped instance goes to `ec2.start` instead (nothing answers `ec2.cmd.<id>` for a
    /// stopped instance): `{"instance_id": …}` with the same header.
    ///
    /// An error reply (`{"Code", "Message"}`, Spinifex's `ec2.ResponseError`; `{"error": …}` in the hive era), no
    /// responder or no reply in time throws, with Spinifex's code in the message: never a success.
    public func send(_ attribute: String, instance: HiveInstance) async throws {
        let command = Array(
            try JSONEncoder.healthMessages.encode(EC2InstanceCommand(id: instance.id, attributes: [attribute: true])))
        var subject = subjects.command(instance: instance.id)
        let reply: NATSMessage
        do throws(NATSError) {
            if attribute == "start_instance", instance.status == "stopped" {
                do throws(NATSError) {
                    subject = Self.startSubject
                    reply = try await request(
                        subject, StartStoppedInstanceInput(instanceID: instance.id), instance: instance)
                } catch {
                    guard error.code == .noResponders else { throw error }
                    // A hive-era daemon has no ec2.start: its start_instance went to ec2.cmd.<id>.
                    subject = subjects.command(instance: instance.id)
                    reply = try await request(subject, payload: command, instance: instance)
                }
            } else {
                reply = try await request(subject, payload: command, instance: instance)
            }
        } catch {
            let why = error.code == .noResponders ? "nobody answers \(subject)" : "no reply on \(subject): \(error)"
            throw RecoveryError(.noAnswer, "\(attribute) \(instance.id): \(why)")
        }
        if let refusal = CommandReply.refusal(reply.payload) {
            throw RecoveryError(
                .commandRefused, "\(attribute) \(instance.id): refused on \(subject): \(refusal)")
        }
    }
}

extension HiveInstanceCommands {
    private func request(_ subject: String, payload: [UInt8], instance: HiveInstance) async throws(NATSError)
        -> NATSMessage
    {
        try await connection.request(
            subject, payload: payload, headers: [Self.accountHeader: instance.commandAccount], timeout: commandTimeout)
    }

    private func request(_ subject: String, _ body: some Encodable, instance: HiveInstance) async throws(NATSError)
        -> NATSMessage
    {
        let payload: [UInt8]
        do {
            payload = Array(try JSONEncoder.healthMessages.encode(body))
        } catch {
            throw NATSError(code: .invalidArgument, message: "encode \(subject): \(error)")
        }
        return try await request(subject, payload: payload, instance: instance)
    }
}

/// spinifex/types/ec2.go `EC2InstanceCommand`: `id` and `attributes` (`EC2CommandAttributes`, e.g.
/// `stop_instance`, `reboot_instance`, `delete_instance`).
struct EC2InstanceCommand: Encodable {
    var id: String
    var attributes: [String: Bool]
}

/// spinifex/handlers/ec2/instance `StartStoppedInstanceInput`, as `ec2.start` reads it: `instance_id`.
struct StartStoppedInstanceInput: Encodable {
    var instanceID: String
    enum CodingKeys: String, CodingKey { case instanceID = "instance_id" }
}

/// A daemon's reply to a command: Spinifex answers errors as aws-sdk's `ec2.ResponseError` (`{"Code", "Message"}`,
/// spinifex/utils/utils.go `GenerateErrorPayloadWithMessage`); the hive era as `{"error": …}`.
struct CommandReply: Decodable {
    var code: String?
    var message: String?
    var hiveError: String?

    enum CodingKeys: String, CodingKey {
        case code = "Code"
        case message = "Message"
        case hiveError = "error"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try? container.decodeIfPresent(String.self, forKey: .code)
        message = try? container.decodeIfPresent(String.self, forKey: .message)
        if container.contains(.hiveError), !((try? container.decodeNil(forKey: .hiveError)) ?? true) {
            hiveError = (try? container.decode(String.self, forKey: .hiveError)) ?? "an error"
        }
    }

    /// Why the reply refuses the command (`<Code>: <Message>`), or nil for a success reply.
    static func refusal(_ payload: [UInt8]) -> String? {
        guard payload.count <= 1024 * 1024,
            let reply = try? JSONDecoder().decode(CommandReply.self, from: Data(payload))
        else { return nil }
        if let code = reply.code, !code.isEmpty {
            let message = reply.message.map { ": \($0.prefix(300))" } ?? ""
            return "\(code.prefix(100))\(message)"
        }
        return reply.hiveError.map { "error: \($0.prefix(300))" }
    }
}

/// A recovery operation that could not be done; the policy records it on the recovery record, it never crashes.
public typealias RecoveryError = CodedError<RecoveryErrors>

/// The domain of ``RecoveryError``: its messages say what went wrong, so its description is the message alone.
public enum RecoveryErrors: ErrorDomain {
    public static var describesCode: Bool { false }
}

extension CodedError.Code where Domain == RecoveryErrors {
    /// Hive answered the command with an error.
    public static var commandRefused: Self { Self("command-refused") }
    /// Nobody answered the command (no responder, or no reply in time).
    public static var noAnswer: Self { Self("no-answer") }
    /// No recovery record has this id.
    public static var notFound: Self { Self("not-found") }
    /// The record is not in a state that allows the operation.
    public static var wrongState: Self { Self("wrong-state") }
    /// Someone else changed the record at the same time; read it again.
    public static var conflict: Self { Self("conflict") }
}

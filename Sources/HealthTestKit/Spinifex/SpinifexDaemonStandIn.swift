import Foundation
import HealthNATS
import HealthQEMU
import Logging
import Synchronization

/// A stand-in for Spinifex's daemon (`spx service spinifex`) on one node, as far as hive-health meets it: the
/// instance records and the instance commands, with Spinifex's rules, from mulgadc/spinifex at
/// ddf22cacfb0bd8c836583924a2a0acc359704cf6:
/// - `spinifex-instance-state`: `node.<node>` = `{"vms": {id: VM}}` for the VMs it runs, `instance.<id>` for a
///   stopped one (spinifex/daemon/jetstream.go `InstanceStatePrefix`, `StoppedInstancePrefix`; ``SpinifexVM``);
/// - `ec2.cmd.<id>`, subscribed only while the VM runs here (daemon_handlers_instance.go), handled as
///   daemon_handlers.go `dispatchEC2Command`: `types.EC2InstanceCommand` (`id`, `attributes`), the caller's
///   `X-Account-ID` checked by ownership.go `checkInstanceOwnership` (an untenanted VM answers only
///   `000000000000`), refusals as `utils.GenerateErrorPayload` (`{"Code": …}`), `stop_instance`/`delete_instance`/
///   `reboot_instance` answered `{}`;
/// - `ec2.start` (queue group `spinifex-workers`), handled as daemon_handlers_instance.go
///   `handleEC2StartStoppedInstance` and service_impl.go `StartStoppedInstance`: `{"instance_id"}`, the stopped
///   record, `IsInstanceVisible`, the start on this node, `{"status":"running","instanceId":…}`.
/// - the control monitor `qmp-<id>.sock`, held for the VM's whole life (``holdControlMonitor(_:)``): connected,
///   polled with `query-status` every second (spinifex/vm health polling), reconnected when QEMU comes back.
///
/// Every command is recorded with the account it carried.
public final class SpinifexDaemonStandIn: Sendable {
    /// A command as received: subject, the `X-Account-ID` header, the body.
    public struct Command: Sendable, Hashable {
        public var subject: String
        public var account: String?
        public var body: String
        public var reply: String
    }

    private struct EC2InstanceCommand: Decodable {
        var id: String
        var attributes: [String: Bool]
    }

    private struct StartStoppedInstanceInput: Decodable {
        var instanceID: String
        enum CodingKeys: String, CodingKey { case instanceID = "instance_id" }
    }

    private struct State {
        /// The VMs this node runs, and the stopped ones it knows of (shared KV in Spinifex).
        var vms: [String: SpinifexVM] = [:]
        var subscriptions: [String: NATSSubscription] = [:]
        var commands: [Command] = []
        var tasks: [Task<Void, Never>] = []
        /// Control monitors held: socket -> the holding task.
        var monitors: [String: Task<Void, Never>] = [:]
        /// Control monitors connected right now.
        var connected: [String: QMPConnection] = [:]
    }

    public let node: String
    public let prefix: String
    private let connection: NATSConnection
    private let state = Mutex(State())
    private let startSubscription: NATSSubscription

    /// Subscribes `ec2.start`; add VMs with ``run(_:)``.
    public init(node: String, connection: NATSConnection, prefix: String = "spinifex") async throws {
        self.node = node
        self.prefix = prefix
        self.connection = connection
        startSubscription = try connection.subscribe("ec2.start")
        try await connection.flush()
        let subscription = startSubscription
        let task = Task { [self] in
            for await message in subscription { await start(message) }
        }
        state.withLock { $0.tasks.append(task) }
    }

    /// Holds the control monitor at `socket` from now on, as Spinifex's daemon does: hive-health must never get it.
    public func holdControlMonitor(_ socket: String, logger: Logger = Logger(label: "spinifex-daemon")) {
        let task = Task { [self] in
            while !Task.isCancelled {
                if let connection = try? await QMPConnection.connect(
                    path: socket, timeout: .seconds(5), logger: logger)
                {
                    state.withLock { $0.connected[socket] = connection }
                    while connection.isOpen, !Task.isCancelled {
                        _ = try? await connection.execute("query-status", timeout: .seconds(5))
                        try? await Task.sleep(for: .seconds(1))
                    }
                    connection.close()
                    state.withLock { $0.connected[socket] = nil }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let previous = state.withLock { state in
            defer { state.monitors[socket] = task }
            return state.monitors[socket]
        }
        previous?.cancel()
    }

    /// Whether the control monitor at `socket` is held (connected) now.
    public func holds(_ socket: String) -> Bool { state.withLock { $0.connected[socket]?.isOpen == true } }

    /// Runs an HMP command (`human-monitor-command`) over the held control monitor, as the daemon would to re-attach a
    /// volume; throws when the monitor is not held now.
    public func humanMonitorCommand(_ socket: String, _ commandLine: String, timeout: Duration = .seconds(30))
        async throws -> String
    {
        guard let connection = state.withLock({ $0.connected[socket] }), connection.isOpen else {
            throw QEMUError(.closed, "the control monitor \(socket) is not held")
        }
        let reply = try await connection.execute(
            "human-monitor-command", arguments: ["command-line": .string(commandLine)], timeout: timeout)
        return reply.string ?? ""
    }

    /// Stops answering and lets go of the monitors (the records stay in KV).
    public func stop() {
        state.withLock { state in
            for task in state.monitors.values { task.cancel() }
            state.monitors = [:]
        }
        startSubscription.unsubscribe()
        let subscriptions = state.withLock { state in
            defer { state.subscriptions = [:] }
            return Array(state.subscriptions.values)
        }
        subscriptions.forEach { $0.unsubscribe() }
    }

    /// The commands received so far.
    public var commands: [Command] { state.withLock { $0.commands } }

    /// The VM's record as the daemon holds it now.
    public func vm(_ id: String) -> SpinifexVM? { state.withLock { $0.vms[id] } }

    /// Runs `vm` on this node: records it under `node.<node>` and answers its `ec2.cmd.<id>`.
    public func run(_ vm: SpinifexVM) async throws {
        var vm = vm
        vm.status = "running"
        vm.lastNode = nil
        try await place(vm)
    }

    /// Records `vm` as stopped (`instance.<id>`, `last_node` this node), as a stop does.
    public func stopped(_ vm: SpinifexVM) async throws {
        var vm = vm
        vm.status = "stopped"
        vm.lastNode = node
        try await place(vm)
    }

    private func place(_ vm: SpinifexVM) async throws {
        let running = vm.status == "running"
        var subscription: NATSSubscription?
        if running { subscription = try connection.subscribe("ec2.cmd.\(vm.id)") }
        let previous = state.withLock { state -> NATSSubscription? in
            state.vms[vm.id] = vm
            let previous = state.subscriptions.removeValue(forKey: vm.id)
            if let subscription { state.subscriptions[vm.id] = subscription }
            return previous
        }
        previous?.unsubscribe()
        if let subscription {
            try await connection.flush()
            let task = Task { [self] in
                for await message in subscription { await command(message) }
            }
            state.withLock { $0.tasks.append(task) }
        }
        try await write()
    }

    private func record(_ message: NATSMessage, reply: String) {
        let command = Command(
            subject: message.subject, account: message.headers["X-Account-ID"], body: message.text, reply: reply)
        state.withLock { $0.commands.append(command) }
    }

    private func respond(_ message: NATSMessage, _ reply: String) {
        record(message, reply: reply)
        if let to = message.replyTo { try? connection.publish(to, payload: Array(reply.utf8)) }
    }

    /// utils.go `GenerateErrorPayload`: aws-sdk `ec2.ResponseError` with `Code` only.
    private static func error(_ code: String) -> String { #"{"Code":"\#(code)"}"# }

    /// ownership.go `checkInstanceOwnership` / service_impl.go `IsInstanceVisible`.
    private static func owns(caller: String?, owner: String?) -> Bool {
        let caller = caller ?? ""
        guard let owner, !owner.isEmpty else { return caller == "000000000000" }
        return caller == owner
    }

    private func command(_ message: NATSMessage) async {
        guard let command = try? JSONDecoder().decode(EC2InstanceCommand.self, from: Data(message.payload)) else {
            return respond(message, Self.error("ServerInternal"))
        }
        guard var vm = state.withLock({ $0.vms[command.id] }), vm.status == "running" else {
            return respond(message, Self.error("InvalidInstanceID.NotFound"))
        }
        guard Self.owns(caller: message.headers["X-Account-ID"], owner: vm.accountID) else {
            return respond(message, Self.error("InvalidInstanceID.NotFound"))
        }
        let attributes = command.attributes.filter(\.value).map(\.key)
        if attributes.contains("stop_instance") {
            vm.status = "stopped"
            vm.lastNode = node
            try? await place(vm)
            respond(message, "{}")
        } else if attributes.contains("delete_instance") {
            let subscription = state.withLock { state in
                state.vms[vm.id] = nil
                return state.subscriptions.removeValue(forKey: vm.id)
            }
            subscription?.unsubscribe()
            try? await write()
            respond(message, "{}")
        } else if attributes.contains("reboot_instance") {
            respond(message, "{}")
        } else {
            respond(message, Self.error("ServerInternal"))
        }
    }

    private func start(_ message: NATSMessage) async {
        guard let input = try? JSONDecoder().decode(StartStoppedInstanceInput.self, from: Data(message.payload)),
            !input.instanceID.isEmpty
        else {
            return respond(message, Self.error("MissingParameter"))
        }
        guard let vm = state.withLock({ $0.vms[input.instanceID] }) else {
            return respond(message, Self.error("InvalidInstanceID.NotFound"))
        }
        guard vm.status == "stopped" else { return respond(message, Self.error("IncorrectInstanceState")) }
        guard Self.owns(caller: message.headers["X-Account-ID"], owner: vm.accountID) else {
            return respond(message, Self.error("InvalidInstanceID.NotFound"))
        }
        try? await run(vm)
        respond(message, #"{"status":"running","instanceId":"\#(vm.id)"}"#)
    }

    /// Writes `node.<node>` (the running VMs) and `instance.<id>` (each stopped one), deleting stale keys.
    private func write() async throws {
        let bucket = try await connection.keyValue(KeyValueBucketConfiguration(bucket: "\(prefix)-instance-state"))
        let vms = state.withLock { $0.vms }
        var running: [String: SpinifexVM] = [:]
        for (id, vm) in vms {
            if vm.status == "stopped" {
                _ = try await bucket.put("instance.\(id)", value: try vm.encoded())
            } else {
                running[id] = vm
                try? await bucket.delete("instance.\(id)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        _ = try await bucket.put("node.\(node)", value: Array(try encoder.encode(["vms": running])))
    }
}

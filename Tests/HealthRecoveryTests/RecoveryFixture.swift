import Foundation
import HealthCore
import HealthNATS
import HealthRecovery
import HealthStateStore
import HealthTestKit
import Logging
import Synchronization
import Testing

/// A real nats-server, connections for several agents, and helpers writing what Hive and the agents write.
final class RecoveryFixture: Sendable {
    let server: NATSServerProcess
    let connection: NATSConnection
    let subjects: HealthSubjects
    let logger: Logger

    init(prefix: String = "hive") async throws {
        subjects = HealthSubjects(prefix: prefix)
        server = try NATSServerProcess()
        var logger = Logger(label: "recovery-test")
        logger.logLevel = .warning
        self.logger = logger
        connection = try await Self.connect(server, logger: logger)
    }

    static func connect(_ server: NATSServerProcess, logger: Logger) async throws -> NATSConnection {
        var configuration = NATSConfiguration(url: server.url)
        configuration.reconnectMax = .milliseconds(200)
        return try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
    }

    func newConnection() async throws -> NATSConnection { try await Self.connect(server, logger: logger) }

    func stop() {
        connection.close()
        server.stop()
    }

    func bucket(_ name: String) async throws -> NATSKeyValue {
        try await connection.keyValue(KeyValueBucketConfiguration(bucket: name))
    }

    /// `agent.<node>` in the status bucket, as the daemon writes it.
    func agentHeartbeat(_ node: String, at date: Date = Date()) async throws {
        let value = "{\"node\":\"\(node)\",\"timestamp\":\"\(RFC3339.format(date))\",\"agent\":\"hive-health\"}"
        try await bucket(subjects.statusBucket).put("agent.\(node)", value: Array(value.utf8))
    }

    /// Hive's `heartbeat.<node>` in the cluster-state bucket.
    func hiveHeartbeat(_ node: String, at date: Date = Date()) async throws {
        let value = "{\"node\":\"\(node)\",\"timestamp\":\"\(RFC3339.format(date))\"}"
        try await bucket(subjects.clusterStateBucket).put("heartbeat.\(node)", value: Array(value.utf8))
    }

    /// An `instance.<id>` status record as an agent writes it.
    func status(
        _ instance: String, node: String, system: SummaryStatus, instanceStatus: SummaryStatus = .ok,
        flapping: Bool = false, impairedSince: Date = Date(timeIntervalSince1970: 1_800_000_000), at: Date = Date()
    ) async throws {
        func category(_ status: SummaryStatus, check: String) -> CategoryStatus {
            let failed = status == .impaired
            return CategoryStatus(
                status: status, impairedSince: failed ? impairedSince : nil,
                checks: [
                    CheckStatus(
                        name: check, probe: check, target: instance, status: failed ? .failed : .passed,
                        message: failed ? "\(check) failing" : "fine", observedAt: at,
                        impairedSince: failed ? impairedSince : nil, flapping: flapping)
                ])
        }
        let health = InstanceHealth(
            instanceID: instance, state: .running, availabilityZone: "az1",
            system: category(system, check: "host.meminfo"), instance: category(instanceStatus, check: "qmp.status"),
            ebs: .notApplicable)
        let record = KeyValueStateStore.InstanceRecord(node: node, savedAt: at, status: health)
        try await bucket(subjects.statusBucket).put(
            "instance.\(instance)", value: Array(try JSONEncoder.healthMessages.encode(record)))
    }

    func statusRecord(_ instance: String) async throws -> KeyValueStateStore.InstanceRecord? {
        guard let entry = try await bucket(subjects.statusBucket).get("instance.\(instance)") else { return nil }
        return try JSONDecoder.healthMessages.decode(KeyValueStateStore.InstanceRecord.self, from: Data(entry.value))
    }

    func store() async throws -> RecoveryStore {
        try await RecoveryStore.open(connection: connection, subjects: subjects)
    }

    func agent(
        _ node: String, peers: PeerSettings = .fast, recovery: RecoverySettings = .fast,
        connection: NATSConnection? = nil
    ) -> RecoveryAgent {
        RecoveryAgent(
            node: node, connection: connection ?? self.connection, subjects: subjects, peers: peers,
            recovery: recovery, logger: logger)
    }

    /// Messages on `hive.health.events`, collected in the background.
    func collectEvents() async throws -> EventCollector {
        let collector = try EventCollector(subscription: connection.subscribe(subjects.events))
        try await connection.flush()
        return collector
    }
}

/// Collects event payloads (as JSON objects) from a subscription until stopped.
final class EventCollector: Sendable {
    let subscription: NATSSubscription
    let received = Mutex<[[String: String]]>([])

    init(subscription: NATSSubscription) {
        self.subscription = subscription
        Task { [self] in
            for await message in subscription {
                guard let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
                else { continue }
                received.withLock { $0.append(object.compactMapValues { $0 as? String }) }
            }
        }
    }

    var events: [[String: String]] { received.withLock { $0 } }

    func stop() { subscription.unsubscribe() }
}

/// Hive's daemon, as far as recovery sees it: answers `ec2.cmd.<id>` and updates `hive-instance-state`.
final class HiveStandIn: Sendable {
    struct VM: Sendable {
        var id: String
        var node: String
        var ebs: Bool
    }

    let fixture: RecoveryFixture
    let commands = Mutex<[String]>([])
    /// While false, a stop is acknowledged but the instance stays running (a slow stop).
    let completesStops = Atomic<Bool>(true)
    /// When set, every command is answered with an error.
    let refuses = Atomic<Bool>(false)
    /// Where a started instance is placed.
    let placeOn: String
    let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    let subscription: NATSSubscription
    let vms = Mutex<[String: (vm: VM, status: String)]>([:])
    let knownNodes = Mutex<Set<String>>([])

    init(fixture: RecoveryFixture, placeOn: String = "node-z") async throws {
        self.fixture = fixture
        self.placeOn = placeOn
        subscription = try fixture.connection.subscribe("ec2.cmd.*")
        try await fixture.connection.flush()
        let subscription = self.subscription
        task.withLock {
            $0 = Task { [self] in
                for await message in subscription { await handle(message) }
            }
        }
    }

    func stop() { subscription.unsubscribe() }

    func add(_ vm: VM) async throws {
        vms.withLock { $0[vm.id] = (vm, "running") }
        try await write()
    }

    var sent: [String] { commands.withLock { $0 } }

    func finishStop(_ id: String) async throws {
        vms.withLock { $0[id]?.status = "stopped" }
        try await write()
    }

    private func handle(_ message: NATSMessage) async {
        guard let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any],
            let id = object["id"] as? String, let attributes = object["attributes"] as? [String: Bool],
            let command = attributes.first(where: { $0.value })?.key
        else { return }
        commands.withLock { $0.append("\(command) \(id)") }
        if refuses.load(ordering: .acquiring) {
            if let reply = message.replyTo {
                try? fixture.connection.publish(reply, payload: Array(#"{"error": "InvalidInstanceID"}"#.utf8))
            }
            return
        }
        vms.withLock { vms in
            switch command {
            case "stop_instance": vms[id]?.status = completesStops.load(ordering: .acquiring) ? "stopped" : "stopping"
            case "start_instance":
                vms[id]?.status = "running"
                vms[id]?.vm.node = placeOn
            case "delete_instance": vms[id] = nil
            default: break
            }
        }
        try? await write()
        if let reply = message.replyTo { try? fixture.connection.publish(reply, payload: Array("{}".utf8)) }
    }

    /// Writes `node.<node>` (running and stopping VMs) and `instance.<id>` (stopped ones) as Hive does.
    private func write() async throws {
        let bucket = try await fixture.bucket(fixture.subjects.instanceStateBucket)
        let all = vms.withLock { $0 }
        var nodes: [String: [String: Any]] = [:]
        for node in knownNodes.withLock({ known in
            known.formUnion(all.values.map(\.vm.node))
            return known
        }) {
            nodes[node] = [:]
        }
        for (id, entry) in all {
            let vm: [String: Any] = [
                "id": id, "status": entry.status,
                "ebs_requests": ["Requests": entry.vm.ebs ? [["Name": "vol-\(id)", "Boot": true]] : []],
            ]
            if entry.status == "stopped" {
                try await bucket.put("instance.\(id)", value: Array(try JSONSerialization.data(withJSONObject: vm)))
                nodes[entry.vm.node, default: [:]][id] = nil
            } else {
                try? await bucket.delete("instance.\(id)")
                nodes[entry.vm.node, default: [:]][id] = vm
            }
        }
        for (node, vms) in nodes {
            let document: [String: Any] = ["vms": vms]
            try await bucket.put("node.\(node)", value: Array(try JSONSerialization.data(withJSONObject: document)))
        }
    }
}

extension PeerSettings {
    static var fast: PeerSettings {
        var settings = PeerSettings()
        settings.heartbeatMaxAge = .seconds(2)
        settings.agentAliveWindow = .seconds(2)
        settings.membershipWindow = .seconds(120)
        settings.interval = .milliseconds(300)
        settings.readTimeout = .seconds(5)
        return settings
    }
}

extension RecoverySettings {
    static var fast: RecoverySettings {
        var settings = RecoverySettings()
        settings.gracePeriod = .milliseconds(500)
        settings.stepTimeout = .seconds(20)
        settings.commandTimeout = .seconds(5)
        settings.interval = .milliseconds(200)
        return settings
    }
}

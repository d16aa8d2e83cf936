import Foundation
import HealthCore
import HealthNATS
import HealthStateStore
import HealthTestKit
import Logging
import Synchronization

/// Three nats-server in a cluster, three `hive-health run` agents of this build (one per node, each with its own
/// hive.toml, state folder, inventory file and API port) and a stand-in for Hive writing each node's heartbeat and
/// VM records. Everything is stopped by pid in ``stop()``.
final class FleetFixture: @unchecked Sendable {
    // `@unchecked Sendable`: the agent processes are only touched under `lock`.
    struct Node: Sendable {
        let name: String
        let instances: [String]
        let apiPort: Int
        let folder: URL
        var config: URL { folder.appending(path: "hive.toml") }
        var inventory: URL { folder.appending(path: "instances.json") }
        var log: URL { folder.appending(path: "agent.log") }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let cluster: NATSClusterFixture
    let client: NATSConnection
    let subjects = HealthSubjects(prefix: "hive")
    let root: URL
    /// Flag files of the `stub.file` check: `<flags>/<instance id>` makes that instance's check fail.
    let flags: URL
    let nodes: [Node]
    let logger: Logger
    private let lock = NSLock()
    private var agents: [String: Process] = [:]
    /// Nodes whose Hive heartbeat the stand-in writes.
    let hiveAlive = NodeSet()
    private let hiveTask = Mutex<Task<Void, Never>?>(nil)

    /// Cluster, buckets Hive owns (replicated), the nodes' files; agents are started by ``startAgents()``.
    init(nodeNames: [String] = ["node-a", "node-b", "node-c"], instancesPerNode: Int = 2) async throws {
        var logger = Logger(label: "fleet-test")
        logger.logLevel = .warning
        self.logger = logger
        cluster = try await NATSClusterFixture()
        root = FileManager.default.temporaryDirectory.appending(path: "hive-health-fleet-\(UUID().uuidString)")
        flags = root.appending(path: "flags")
        try FileManager.default.createDirectory(at: flags, withIntermediateDirectories: true)
        var configuration = NATSConfiguration(url: cluster.urls)
        configuration.replicas = 3
        configuration.reconnectMax = .milliseconds(250)
        do {
            client = try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
        } catch {
            cluster.stopAll()
            throw error
        }
        var nodes: [Node] = []
        for (index, name) in nodeNames.enumerated() {
            let letter = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index)))
            let instances = (1...instancesPerNode).map { "i-0\(letter)\(String(format: "%04d", $0))" }
            let folder = root.appending(path: name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            nodes.append(
                Node(name: name, instances: instances, apiPort: try NATSServerProcess.freePort(), folder: folder))
        }
        self.nodes = nodes
        for node in nodes { try writeFiles(node) }
        try await writeHiveRecords()
        hiveAlive.nodes.withLock { $0 = Set(nodeNames) }
        startHiveHeartbeats()
    }

    /// hive.toml, checks.d (one `stub.file` check per instance) and the inventory of `node`.
    private func writeFiles(_ node: Node) throws {
        let checks = node.folder.appending(path: "checks.d")
        try FileManager.default.createDirectory(at: checks, withIntermediateDirectories: true)
        try Data(
            """
            checks:
              - name: fleet.flag
                description: Fails while the instance's flag file exists (multi-node tests).
                category: system
                probe: stub.file
                target: instance
                interval: 1s
                timeout: 500ms
                params:
                  path: "\(flags.path)/{{instance.id}}"
            """.utf8
        ).write(to: checks.appending(path: "10-fleet.yaml"))
        let launched = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
        let vms = node.instances.map { id in
            "\"\(id)\": {\"id\": \"\(id)\", \"status\": \"running\", \"instance\": {\"LaunchTime\": \"\(launched)\"}}"
        }
        try Data("{\"vms\": {\(vms.joined(separator: ", "))}}".utf8).write(to: node.inventory)
        try Data(
            """
            node = "\(node.name)"
            [nodes.\(node.name)]
            region = "test-1"
            az = "test-1a"
            [nodes.\(node.name).nats]
            host = "\(cluster.urls)"
            [health]
            recovery_enabled = false
            launch_grace_period = "0s"
            [health.thresholds]
            consecutive_failures = 1
            consecutive_successes = 1
            [health.api]
            listen = "127.0.0.1:\(node.apiPort)"
            [health.nats]
            replicas = 3
            heartbeat_interval = "1s"
            status_interval = "5s"
            shared_catalogue = false
            [health.recovery]
            interval = "1s"
            [health.peers]
            heartbeat_max_age = "8s"
            agent_alive_window = "8s"
            """.utf8
        ).write(to: node.config)
    }

    /// Hive's `node.<node>` VM records in `hive-instance-state` (what the peers read of a dead node).
    private func writeHiveRecords() async throws {
        var bucket = KeyValueBucketConfiguration(bucket: subjects.instanceStateBucket)
        bucket.replicas = 3
        let state = try await client.keyValue(bucket)
        for node in nodes {
            let vms = node.instances.map { "\"\($0)\": {\"id\": \"\($0)\", \"status\": \"running\"}" }
            try await state.put("node.\(node.name)", value: Array("{\"vms\": {\(vms.joined(separator: ", "))}}".utf8))
        }
    }

    /// Hive's `heartbeat.<node>` in `hive-cluster-state`, every 500 ms for the nodes in ``hiveAlive``.
    private func startHiveHeartbeats() {
        let client = self.client
        let subjects = self.subjects
        let alive = hiveAlive
        let task = Task {
            var bucket: NATSKeyValue?
            while !Task.isCancelled {
                if bucket == nil {
                    var configuration = KeyValueBucketConfiguration(bucket: subjects.clusterStateBucket)
                    configuration.replicas = 3
                    bucket = try? await client.keyValue(configuration)
                }
                for node in alive.nodes.withLock({ $0 }).sorted() {
                    let value = "{\"node\":\"\(node)\",\"timestamp\":\"\(RFC3339.format(Date()))\"}"
                    _ = try? await bucket?.put("heartbeat.\(node)", value: Array(value.utf8))
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        hiveTask.withLock { $0 = task }
    }

    // MARK: Agents

    /// The `hive-health` executable of this build.
    static var binary: String { HiveHealthDaemonProcess.executable }

    func startAgents() throws {
        for node in nodes { try startAgent(node) }
    }

    func startAgent(_ node: Node) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "run", "--config", node.config.path, "--checks", node.folder.appending(path: "checks.d").path,
            "--inventory", "file:\(node.inventory.path)", "--state-dir", node.folder.appending(path: "state").path,
            "--log-level", "notice",
        ]
        _ = FileManager.default.createFile(atPath: node.log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: node.log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        lock.withLock { agents[node.name] = process }
    }

    func agentPID(_ node: String) -> Int32? {
        lock.withLock { agents[node].flatMap { $0.isRunning ? $0.processIdentifier : nil } }
    }

    /// SIGKILL to one agent (by its pid), as a crash would.
    func kill9(agent node: String) {
        guard let process = lock.withLock({ agents.removeValue(forKey: node) }) else { return }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM to every agent, SIGKILL after 10 s; then the Hive stand-in, the client and the servers.
    func stop() {
        let running = lock.withLock { () -> [Process] in
            defer { agents = [:] }
            return Array(agents.values)
        }
        for process in running where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        for process in running {
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        hiveTask.withLock { $0?.cancel() }
        client.close()
        cluster.stopAll()
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    func log(_ node: Node) -> String {
        String(((try? String(contentsOf: node.log, encoding: .utf8)) ?? "").suffix(3000))
    }

    var logs: String {
        nodes.map { "--- \($0.name):\n\(log($0))" }.joined(separator: "\n")
            + cluster.members.indices.map { "\n--- \(cluster.members[$0].name):\n\(cluster.log($0).suffix(1500))" }
            .joined()
    }

    // MARK: Faults

    func fail(_ instance: String) {
        _ = FileManager.default.createFile(atPath: flags.appending(path: instance).path, contents: nil)
    }

    func heal(_ instance: String) {
        try? FileManager.default.removeItem(at: flags.appending(path: instance))
    }

    // MARK: Reading

    /// DescribeInstanceStatus on `node`'s API (no SigV4: no credentials are configured): system status by instance.
    func systemStatuses(via node: Node, instances: [String] = []) async -> [String: String]? {
        var query = "/?Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true"
        for (index, id) in instances.enumerated() { query += "&InstanceId.\(index + 1)=\(id)" }
        let (port, path) = (node.apiPort, query)
        guard let body = await offCooperativePool({ LoopbackHTTP.get(port: port, path: path) }) else { return nil }
        return Self.parseSystemStatuses(body)
    }

    /// `instanceId` -> `systemStatus/status` from a DescribeInstanceStatusResponse.
    static func parseSystemStatuses(_ xml: String) -> [String: String]? {
        guard xml.contains("<DescribeInstanceStatusResponse") else { return nil }
        var result: [String: String] = [:]
        for item in xml.components(separatedBy: "<instanceId>").dropFirst() {
            guard let end = item.range(of: "</instanceId>") else { continue }
            let id = String(item[..<end.lowerBound])
            guard let system = item.range(of: "<systemStatus><status>"),
                let close = item[system.upperBound...].range(of: "</status>")
            else { continue }
            result[id] = String(item[system.upperBound..<close.lowerBound])
        }
        return result
    }

    func statusBucket() async throws -> NATSKeyValue {
        try await client.keyValue(subjects.statusBucket)
    }

    /// The `instance.<id>` record of the status bucket.
    func record(_ instance: String) async throws -> KeyValueStateStore.InstanceRecord? {
        guard let entry = try await statusBucket().get("instance.\(instance)") else { return nil }
        return try JSONDecoder.healthMessages.decode(KeyValueStateStore.InstanceRecord.self, from: Data(entry.value))
    }

    /// The events stream's messages as JSON objects (string fields only).
    func storedEvents() async throws -> [[String: String]] {
        try await client.streamMessages(subjects.eventStream).compactMap { message in
            (try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])?
                .compactMapValues { $0 as? String }
        }
    }
}

/// A set of node names shared with a background task.
final class NodeSet: Sendable {
    let nodes = Mutex<Set<String>>([])
}

import Foundation
import HealthCatalogue
import HealthCore
import HealthDaemon
import HealthNATS
import HealthProbes
import HealthTestKit
import Logging
import ServiceLifecycle
import Testing

/// A probe kind only the pusher's build has: a catalogue using it is valid there and cannot load on the daemon.
struct ElsewhereProbe: Probe {
    static let descriptor = ProbeDescriptor(
        kind: "test.elsewhere", category: .system, targets: [.node], summary: "exists only on the pusher")
    init(environment: ProbeEnvironment) {}
    func observe(_ request: ProbeRequest) async -> Observation { .passed("ok") }
}

/// The daemon following the shared catalogue on a real nats-server.
@Suite("Shared catalogue on NATS", .serialized)
struct SharedCatalogueTests {
    let logger = Logger(label: "test")

    static func checks(failures: Int, interval: String = "30s") -> String {
        """
        checks:
          - name: host.memory
            probe: host.meminfo
            target: node
            interval: \(interval)
            thresholds:
              consecutive_failures: \(failures)
        """
    }

    func setup(_ fixture: DaemonFixture, server: NATSServerProcess, node: String = "node-test") throws -> DaemonSetup {
        let toml = """
            node = "\(node)"
            [nodes.\(node).nats]
            host = "127.0.0.1:\(server.port)"
            [health.nats]
            heartbeat_interval = "200ms"
            status_interval = "300ms"
            """
        let path = fixture.root.appending(path: "hive.toml").path
        try Data(toml.utf8).write(to: URL(fileURLWithPath: path))
        var options = fixture.options()
        options.configPath = path
        options.node = node
        return try DaemonSetup.resolve(options, registry: try ProbeRegistry(HealthProbesRegistry.probeTypes))
    }

    func failures(_ daemon: HealthDaemon) -> Int? {
        daemon.planner.checks.first { $0.name == "host.memory" }?.thresholds.consecutiveFailures
    }

    @Test("a pushed threshold is applied within seconds without a restart; a version this node cannot load is not")
    func followsPushes() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(Self.checks(failures: 2), to: "host.yaml")
        try fixture.writeInventory(ids: [])
        let setup = try setup(fixture, server: server)
        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        defer { running.cancel() }
        #expect(await eventually { daemon.planner.catalogue?.source == .local && failures(daemon) == 2 })

        let client = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { client.close() }
        let bucket = try await CatalogueBucket.open(connection: client, subjects: setup.subjects, create: true)

        let first = CatalogueBundle(files: ["host.yaml": Self.checks(failures: 4)])
        guard case .stored(let v1) = try await bucket.push(first, by: "test") else {
            Issue.record("first push stored nothing")
            return
        }
        #expect(v1.version == 1)
        let start = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(10)) { failures(daemon) == 4 })
        #expect(start.duration(to: .now) < .seconds(5), "applied after \(start.duration(to: .now))")
        #expect(daemon.planner.catalogue == CatalogueVersion(source: .shared, version: 1, sha256: first.sha256))
        #expect(daemon.evaluator.report().catalogue?.version == 1)

        // Pushing the same content again is not a new version.
        guard case .unchanged(let same) = try await bucket.push(first, by: "test") else {
            Issue.record("an identical push stored a new version")
            return
        }
        #expect(same.version == 1)

        let second = CatalogueBundle(files: ["host.yaml": Self.checks(failures: 6)])
        _ = try await bucket.push(second, by: "test")
        #expect(await eventually(timeout: .seconds(10)) { failures(daemon) == 6 })
        #expect(daemon.planner.catalogue?.version == 2)

        // Valid for a build with test.elsewhere (the pusher's), unloadable here: refused, version 2 stays.
        let foreign = CatalogueBundle(files: [
            "host.yaml": Self.checks(failures: 9),
            "site.yaml": "checks:\n  - name: site.thing\n    probe: test.elsewhere\n",
        ])
        let pusherRegistry = try ProbeRegistry(HealthProbesRegistry.probeTypes + [ElsewhereProbe.self])
        #expect(foreign.validate(with: CatalogueLoader(registry: pusherRegistry, config: .defaults), origin: "x")
            .isEmpty)
        _ = try await bucket.push(foreign, by: "test")
        #expect(await eventually(timeout: .seconds(10)) { daemon.planner.catalogue?.rejectedVersion == 3 })
        #expect(daemon.planner.catalogue?.version == 2)
        #expect(failures(daemon) == 6)
        #expect(daemon.planner.checks.map(\.name) == ["host.memory"])

        // A value whose hash does not match its files is never applied either.
        var tampered = CatalogueRelease(
            version: 4, bundle: CatalogueBundle(files: ["host.yaml": Self.checks(failures: 7)]), pushedAt: Date(),
            pushedBy: "x")
        tampered.files["host.yaml"] = Self.checks(failures: 8)
        try await bucket.keyValue.put(
            CatalogueBucket.currentKey, value: Array(try JSONEncoder.healthMessages.encode(tampered)))

        // Garbage is not a release either.
        try await bucket.keyValue.put(CatalogueBucket.currentKey, value: Array("{not json".utf8))

        // The agent reports what it runs in its heartbeat (status bucket, agent.<node>).
        let status = try await client.keyValue(setup.subjects.statusBucket)
        var heartbeatCatalogue: [String: Any]?
        _ = await eventually(timeout: .seconds(10)) {
            guard let entry = try? await status.get("agent.node-test"),
                let json = try? JSONSerialization.jsonObject(with: Data(entry.value)) as? [String: Any]
            else { return false }
            heartbeatCatalogue = json["catalogue"] as? [String: Any]
            return heartbeatCatalogue?["rejected_version"] as? Int == 3
        }
        #expect(heartbeatCatalogue?["source"] as? String == "shared")
        #expect(heartbeatCatalogue?["version"] as? Int == 2)
        #expect(heartbeatCatalogue?["sha256"] as? String == second.sha256)
        #expect(failures(daemon) == 6)
        #expect(daemon.planner.catalogue?.version == 2)

        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("three agents on one server all run a pushed threshold within seconds")
    func everyAgentFollows() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        var fixtures: [DaemonFixture] = []
        defer { for fixture in fixtures { fixture.remove() } }
        var daemons: [HealthDaemon] = []
        var groups: [ServiceGroup] = []
        var tasks: [Task<Void, any Error>] = []
        defer { for task in tasks { task.cancel() } }
        for index in 0..<3 {
            let fixture = try DaemonFixture()
            fixtures.append(fixture)
            try fixture.write(Self.checks(failures: 2), to: "host.yaml")
            try fixture.writeInventory(ids: [])
            let setup = try setup(fixture, server: server, node: "node-\(index)")
            let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
            let group = daemon.makeServiceGroup()
            daemons.append(daemon)
            groups.append(group)
            tasks.append(Task { try await group.run() })
        }
        #expect(await eventually { daemons.allSatisfy { failures($0) == 2 } })

        let client = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { client.close() }
        let bucket = try await CatalogueBucket.open(
            connection: client, subjects: HealthSubjects(prefix: "hive"), create: true)
        let start = ContinuousClock.now
        _ = try await bucket.push(CatalogueBundle(files: ["host.yaml": Self.checks(failures: 5)]), by: "test")
        #expect(await eventually(timeout: .seconds(10)) { daemons.allSatisfy { failures($0) == 5 } })
        #expect(start.duration(to: .now) < .seconds(5), "all applied after \(start.duration(to: .now))")
        #expect(daemons.allSatisfy { $0.planner.catalogue?.version == 1 })

        // Each agent's node status on NATS names the catalogue it runs.
        let status = try client.subscribe("hive.health.status")
        var seen: Set<String> = []
        try await withDeadline(.seconds(10), onExpiry: { status.unsubscribe() }) {
            for await message in status {
                let json = try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
                let catalogue = json?["catalogue"] as? [String: Any]
                if json?["kind"] as? String == "node", catalogue?["version"] as? Int == 1,
                    let node = json?["node"] as? String
                {
                    seen.insert(node)
                }
                if seen.count == 3 { break }
            }
        }
        #expect(seen == ["node-0", "node-1", "node-2"])

        for group in groups { await group.triggerGracefulShutdown() }
        for task in tasks { try await task.value }
    }

    @Test("concurrent pushes get distinct versions; every version is kept and current is the last")
    func concurrentPushes() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { client.close() }
        let bucket = try await CatalogueBucket.open(
            connection: client, subjects: HealthSubjects(prefix: "hive"), create: true)
        let versions = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<4 {
                group.addTask {
                    let bundle = CatalogueBundle(files: ["host.yaml": Self.checks(failures: index + 2)])
                    guard case .stored(let release) = try await bucket.push(bundle, by: "pusher-\(index)") else {
                        return 0
                    }
                    return release.version
                }
            }
            var versions: [Int] = []
            for try await version in group { versions.append(version) }
            return versions
        }
        #expect(versions.sorted() == [1, 2, 3, 4])
        for version in 1...4 {
            let release = try await bucket.release(version: version)
            #expect(release?.version == version)
        }
        #expect(try await bucket.current()?.version == 4)
    }

    @Test("a claim left behind by a pusher that died before moving current does not block later pushes")
    func strandedClaim() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { client.close() }
        let bucket = try await CatalogueBucket.open(
            connection: client, subjects: HealthSubjects(prefix: "hive"), create: true)
        _ = try await bucket.push(CatalogueBundle(files: ["host.yaml": Self.checks(failures: 2)]), by: "a")
        let stranded = CatalogueRelease(
            version: 2, bundle: CatalogueBundle(files: ["host.yaml": Self.checks(failures: 3)]), pushedAt: Date(),
            pushedBy: "died")
        try await bucket.keyValue.create(
            CatalogueBucket.versionKey(2), value: Array(try JSONEncoder.healthMessages.encode(stranded)))
        let outcome = try await bucket.push(CatalogueBundle(files: ["host.yaml": Self.checks(failures: 4)]), by: "b")
        guard case .stored(let release) = outcome else {
            Issue.record("nothing stored: \(outcome)")
            return
        }
        #expect(release.version == 3)
        #expect(try await bucket.current()?.version == 3)
        #expect(try await bucket.release(version: 2)?.pushedBy == "died")
    }

    @Test("after a NATS restart the agent watches again and applies the next push")
    func survivesServerRestart() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.write(Self.checks(failures: 2), to: "host.yaml")
        try fixture.writeInventory(ids: [])
        let setup = try setup(fixture, server: server)
        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: .fast)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        defer { running.cancel() }

        func push(_ failures: Int) async throws {
            let client = try await NATSConnection.connect(
                NATSConfiguration(url: server.url), requireServer: true, logger: logger)
            defer { client.close() }
            let bucket = try await CatalogueBucket.open(connection: client, subjects: setup.subjects, create: true)
            _ = try await bucket.push(CatalogueBundle(files: ["host.yaml": Self.checks(failures: failures)]), by: "t")
        }
        try await push(3)
        #expect(await eventually(timeout: .seconds(10)) { failures(daemon) == 3 })

        server.stop()
        try server.start()
        // The catalogue in force stays through the outage; the next push is applied once the watch is back.
        #expect(failures(daemon) == 3)
        try await push(4)
        #expect(await eventually(timeout: .seconds(30)) { failures(daemon) == 4 })
        #expect(daemon.planner.catalogue?.version == 2)

        await group.triggerGracefulShutdown()
        try await running.value
    }
}

import Foundation
import HealthCore
import HealthNATS
import HealthProbes
import HealthTestKit
import Logging
import Testing

/// The viperblock probes over a real nats-server, against SpinifexEBSProvider: a stand-in for viperblockd shaped from
/// Spinifex's ebsprovider Go structs (the file, structs and commit are named on the type). Garbage and silence are
/// played by plain subscriptions.
@Suite("viperblock probes on ebs.provider.v1", .serialized)
struct ViperblockProbeTests {
    let logger = Logger(label: "test")
    let node = NodeInfo(name: "node-v", region: "r", availabilityZone: "az")

    /// A generous timeout: the machine running the tests may be busy; only the silent case waits it out.
    func request(_ target: Target, timeout: Duration = .seconds(10), parameters: ProbeParameters = ProbeParameters())
        -> ProbeRequest
    {
        ProbeRequest(
            checkName: "c", target: target, node: node, parameters: parameters, timeout: timeout, logger: logger)
    }

    func volume(_ id: String) -> Target {
        .volume(VolumeInfo(id: id), of: InstanceInfo(id: "i-0v", node: "node-v"))
    }

    func connect(_ server: NATSServerProcess) async throws -> NATSConnection {
        try await NATSConnection.connect(NATSConfiguration(url: server.url), requireServer: true, logger: logger)
    }

    @Test("service: passes when the provider answers capabilities, fails when nobody listens or it answers an error")
    func service() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let environment = ProbeEnvironment(keyValues: NATSKeyValueReader(connection: connection))
        let probe = ViperblockServiceProbe(environment: environment)
        let down = await probe.observe(request(.node(node)))
        #expect(down.outcome == .failed)

        let provider = try await SpinifexEBSProvider(connection: connection, volumes: [], owned: [])
        let up = await probe.observe(request(.node(node)))
        #expect(up.outcome == .passed, "\(up.message)")
        #expect(provider.requests.map(\.subject) == ["ebs.provider.v1.capabilities"])
        #expect(provider.requests.first?.body == #"{"schema_version":1}"#)
        provider.stop()

        let withoutNATS = await ViperblockServiceProbe(environment: ProbeEnvironment()).observe(request(.node(node)))
        #expect(withoutNATS.outcome == .unknown)
        #expect(ViperblockServiceProbe.descriptor.requiresNATS)
    }

    @Test("volume: asks the owner subject first with a GetVolumeRequest, then the queue subject; states pass or fail")
    func volumeStates() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let provider = try await SpinifexEBSProvider(
            connection: connection,
            volumes: [
                .init(id: "vol-owned", state: "in-use"), .init(id: "vol-queue", state: "available"),
                .init(id: "vol-creating", state: "creating"),
            ],
            owned: ["vol-owned"])
        defer { provider.stop() }
        let probe = ViperblockVolumeProbe(
            environment: ProbeEnvironment(keyValues: NATSKeyValueReader(connection: connection)))

        let owned = await probe.observe(request(volume("vol-owned")))
        #expect(owned.outcome == .passed, "\(owned.message)")
        #expect(owned.values["capacity_bytes"] == 1_073_741_824)
        #expect(provider.requests.map(\.subject) == ["ebs.provider.v1.owner.vol-owned.volume.describe"])
        let body = try #require(provider.requests.first?.body)
        let keys = try JSONDecoder().decode([String: JSONValueProbe].self, from: Data(body.utf8)).keys.sorted()
        #expect(keys == ["schema_version", "volume_id"], "\(body)")

        let queued = await probe.observe(request(volume("vol-queue")))
        #expect(queued.outcome == .passed, "\(queued.message)")
        // Nobody owns vol-queue: only the queue subject answers.
        #expect(provider.requests.last?.subject == "ebs.provider.v1.volume.describe")

        let creating = await probe.observe(request(volume("vol-creating")))
        #expect(creating.outcome == .failed)

        let withHandle = await probe.observe(
            request(volume("vol-queue"), parameters: ProbeParameters(["handle": .string("vb-vol-queue")])))
        #expect(withHandle.outcome == .passed)
        #expect(provider.requests.last?.body.contains(#""handle":"vb-vol-queue""#) == true)
    }

    @Test("volume: an error reply fails with its code; unavailable (retry later) is unknown")
    func errorReplies() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let provider = try await SpinifexEBSProvider(
            connection: connection, volumes: [.init(id: "vol-1")], owned: ["vol-1"])
        defer { provider.stop() }
        let probe = ViperblockVolumeProbe(
            environment: ProbeEnvironment(keyValues: NATSKeyValueReader(connection: connection)))
        let missing = await probe.observe(request(volume("vol-gone")))
        #expect(missing.outcome == .failed)
        #expect(missing.message.contains("not_found"), "\(missing.message)")
        provider.fail("vol-1", with: .init(code: "internal", message: "engine stopped"))
        let internalError = await probe.observe(request(volume("vol-1")))
        #expect(internalError.outcome == .failed)
        #expect(internalError.message.contains("internal"))
        provider.fail("vol-1", with: .init(code: "unavailable", message: "peer unreachable"))
        #expect(await probe.observe(request(volume("vol-1"))).outcome == .unknown)
    }

    @Test("volume: garbage and silence are unknown")
    func garbageAndSilence() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let garbage = try connection.subscribe("ebs.provider.v1.owner.vol-garbage.volume.describe")
        let silent = try connection.subscribe("ebs.provider.v1.owner.vol-silent.volume.describe")
        try await connection.flush()
        let serving = Task {
            for await message in garbage {
                if let reply = message.replyTo { try? connection.publish(reply, payload: Array("\u{0}garbage".utf8)) }
            }
        }
        let probe = ViperblockVolumeProbe(
            environment: ProbeEnvironment(keyValues: NATSKeyValueReader(connection: connection)))
        #expect(await probe.observe(request(volume("vol-garbage"))).outcome == .unknown)
        #expect(await probe.observe(request(volume("vol-silent"), timeout: .seconds(1))).outcome == .unknown)
        garbage.unsubscribe()
        silent.unsubscribe()
        await serving.value
    }
}

/// Any JSON value, to read a request's keys without caring for their values.
private struct JSONValueProbe: Decodable {
    init(from decoder: any Decoder) throws {}
}

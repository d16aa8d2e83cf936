import Foundation
import HealthCore
import HealthNATS
import HealthProbes
import HealthTestKit
import Logging
import Testing

/// The viperblock probes over a real nats-server. The EBS service is played by a subscription that answers as
/// Viperblock's describe does (Viperblock itself is not packaged for Debian), including garbage and silence.
@Suite("viperblock probes on NATS", .serialized)
struct ViperblockProbeTests {
    let logger = Logger(label: "test")
    let node = NodeInfo(name: "node-v", region: "r", availabilityZone: "az")

    /// A generous timeout: the machine running the tests may be busy; only the silent case waits it out.
    func request(_ target: Target, timeout: Duration = .seconds(10)) -> ProbeRequest {
        ProbeRequest(
            checkName: "c", target: target, node: node, parameters: ProbeParameters(), timeout: timeout,
            logger: logger)
    }

    func volume(_ id: String) -> Target {
        .volume(VolumeInfo(id: id), of: InstanceInfo(id: "i-0v", node: "node-v"))
    }

    @Test("service: passes when the EBS service answers, fails when nobody listens")
    func service() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { connection.close() }
        let environment = ProbeEnvironment(keyValues: NATSKeyValueReader(connection: connection))
        let probe = ViperblockServiceProbe(environment: environment)
        let down = await probe.observe(request(.node(node)))
        #expect(down.outcome == .failed)

        let service = try connection.subscribe("ebs.provider.v1.volume.describe")
        try await connection.flush()
        let serving = Task {
            for await message in service {
                if let reply = message.replyTo {
                    try? connection.publish(reply, payload: Array(#"{"error":"no id"}"#.utf8))
                }
            }
        }
        let up = await probe.observe(request(.node(node)))
        #expect(up.outcome == .passed, "\(up.message)")
        service.unsubscribe()
        await serving.value
        let withoutNATS = await ViperblockServiceProbe(environment: ProbeEnvironment()).observe(request(.node(node)))
        #expect(withoutNATS.outcome == .unknown)
    }

    @Test("volume: healthy state passes, error state fails, garbage and silence are unknown")
    func volumeStates() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await NATSConnection.connect(
            NATSConfiguration(url: server.url), requireServer: true, logger: logger)
        defer { connection.close() }
        let service = try connection.subscribe("ebs.provider.v1.volume.describe")
        try await connection.flush()
        let serving = Task {
            for await message in service {
                guard let reply = message.replyTo,
                    let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any],
                    let id = object["id"] as? String
                else { continue }
                let answer: String? =
                    switch id {
                    case "vol-ok": #"{"id":"vol-ok","capacity_bytes":1073741824,"state":"in-use","handle":"h"}"#
                    case "vol-bad": "{\"id\":\"vol-bad\",\"state\":\"error\"}"
                    case "vol-garbage": "\u{0}\u{1}garbage"
                    default: nil  // silence
                    }
                if let answer { try? connection.publish(reply, payload: Array(answer.utf8)) }
            }
        }
        let probe = ViperblockVolumeProbe(
            environment: ProbeEnvironment(keyValues: NATSKeyValueReader(connection: connection)))
        let ok = await probe.observe(request(volume("vol-ok")))
        #expect(ok.outcome == .passed, "\(ok.message)")
        #expect(ok.values["capacity_bytes"] == 1_073_741_824)
        #expect(await probe.observe(request(volume("vol-bad"))).outcome == .failed)
        #expect(await probe.observe(request(volume("vol-garbage"))).outcome == .unknown)
        #expect(await probe.observe(request(volume("vol-silent"), timeout: .seconds(1))).outcome == .unknown)
        service.unsubscribe()
        await serving.value
    }
}

import Foundation
import HealthCore
import HealthProbes
import HealthTestKit
import Logging
import Testing

/// A volume of a running instance, served at `uri`.
func volumeTarget(_ uri: String, id: String = "vol-0a1b2c", qmp: String = "") -> Target {
    let volume = VolumeInfo(id: id, nbdURI: uri, deviceName: "/dev/vdb")
    return .volume(volume, of: InstanceInfo(id: "i-0ebs", node: testNode.name, qmpSocket: qmp, volumes: [volume]))
}

func storageRequest(_ target: Target, timeout: Duration = .seconds(20), _ parameters: [String: ParameterValue] = [:])
    -> ProbeRequest
{
    ProbeRequest(
        checkName: "ebs", target: target, node: testNode, parameters: ProbeParameters(parameters), timeout: timeout,
        logger: Logger(label: "ebs-test", factory: { _ in SwiftLogNoOpLogHandler() }))
}

@Suite("nbd.export", .serialized)
struct NBDExportProbeTests {
    let probe = NBDExportProbe(environment: ProbeEnvironment())

    @Test("a live nbdkit export passes with its latency; killed, the storage path is broken")
    func liveThenKilled() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdp")
        defer { folder.remove() }
        let socket = folder.file("vol.sock")
        let server = try await StorageFixtures.startNBDKit(socket: socket)
        defer { server.stop() }
        let request = storageRequest(volumeTarget("nbd:unix:\(socket)"))
        let live = await probe.observe(request)
        #expect(live.outcome == .passed, "\(live.message)")
        #expect(live.values["latency_seconds"] != nil)
        #expect(live.values["size_bytes"].map { Int($0) } == 1_048_576, "\(live.values)")

        server.stop()
        let killed = await probe.observe(request)
        #expect(killed.outcome == .failed)
        #expect(killed.message.contains("storage path broken"), "\(killed.message)")
        try? FileManager.default.removeItem(atPath: socket)
        let removed = await probe.observe(request)
        #expect(removed.outcome == .failed)
        #expect(removed.message.contains("no such socket"), "\(removed.message)")
    }

    @Test("injected I/O errors and a stalled read fail, saying which")
    func errorsAndStalls() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdp")
        defer { folder.remove() }
        let errors = try await StorageFixtures.startNBDKit(
            socket: folder.file("e.sock"), filters: ["error"], arguments: ["error-pread=EIO", "error-pread-rate=100%"])
        defer { errors.stop() }
        let failed = await probe.observe(storageRequest(volumeTarget("nbd:unix:\(folder.file("e.sock"))")))
        #expect(failed.outcome == .failed)
        #expect(failed.message.contains("EIO"), "\(failed.message)")

        let slow = try await StorageFixtures.startNBDKit(
            socket: folder.file("d.sock"), filters: ["delay"], arguments: ["delay-read=30"])
        defer { slow.stop() }
        let stalled = await probe.observe(
            storageRequest(volumeTarget("nbd:unix:\(folder.file("d.sock"))"), timeout: .milliseconds(500)))
        #expect(stalled.outcome == .failed)
        #expect(stalled.message.contains("stall"), "\(stalled.message)")
    }

    @Test("max_latency fails a slow but working export")
    func maxLatency() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdp")
        defer { folder.remove() }
        let slow = try await StorageFixtures.startNBDKit(
            socket: folder.file("s.sock"), filters: ["delay"], arguments: ["delay-read=200ms"])
        defer { slow.stop() }
        let observation = await probe.observe(
            storageRequest(volumeTarget("nbd:unix:\(folder.file("s.sock"))"), ["max_latency": .string("50ms")]))
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("slow"), "\(observation.message)")
    }

    @Test("a URI it cannot use is unknown, not a failure")
    func badURI() async {
        let observation = await probe.observe(storageRequest(volumeTarget("http://nope")))
        #expect(observation.outcome == .unknown)
        let empty = await probe.observe(storageRequest(volumeTarget("")))
        #expect(empty.outcome == .unknown)
    }
}

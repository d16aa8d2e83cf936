import Foundation
import HealthCore
import HealthProbes
import HealthQEMU
import HealthBlock
import HealthTestKit
import Logging
import Synchronization
import Testing

/// An instance with `volumes`, its QMP monitor at `qmp`.
func ebsInstance(qmp: String, volumes: [VolumeInfo]) -> Target {
    .instance(InstanceInfo(id: "i-0ebs", node: testNode.name, qmpSocket: qmp, volumes: volumes))
}

@Suite("ebs.attachment and qmp.block", .serialized)
struct EBSAttachmentProbeTests {
    @Test("a real QEMU attached to a real nbdkit: passes, missing and stale are told, killing nbdkit fails")
    func realQEMUAndNBDKit() async throws {
        let folder = try ShortTemporaryFolder(prefix: "ebs")
        defer { folder.remove() }
        let volumeSocket = folder.file("vol-1.sock")
        let strayPath = folder.file("stray.sock")
        let nbdkit = try await StorageFixtures.startNBDKit(socket: volumeSocket)
        defer { nbdkit.stop() }
        let stray = try await StorageFixtures.startNBDKit(socket: strayPath)
        defer { stray.stop() }
        let qmp = folder.file("qmp.sock")
        let qemu = try await QEMUFixtures.startQEMU(
            qmp: qmp,
            extra: [
                "-drive", "if=none,id=drive-vol1,format=raw,file=nbd:unix:\(volumeSocket)",
                "-drive", "if=none,id=drive-stray,format=raw,file=nbd:unix:\(strayPath)",
            ], log: folder.file("qemu.log"))
        defer { qemu.stop() }
        let pool = QMPConnectionPool()
        defer { Task { await pool.closeAll() } }
        let probe = EBSAttachmentProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let volume = VolumeInfo(id: "vol-1", nbdURI: "nbd:unix:\(volumeSocket)", deviceName: "/dev/sdf")

        let attached = await probe.observe(storageRequest(ebsInstance(qmp: qmp, volumes: [volume])))
        #expect(attached.outcome == .passed, "\(attached.message)")
        #expect(attached.message.contains("nbdkit["), "\(attached.message)")
        #expect(attached.message.contains("stale attachment"), "\(attached.message)")
        #expect(attached.message.contains("drive-stray"), "\(attached.message)")
        let strict = await probe.observe(
            storageRequest(ebsInstance(qmp: qmp, volumes: [volume]), ["stale_fails": .boolean(true)]))
        #expect(strict.outcome == .failed, "\(strict.message)")

        let ghost = VolumeInfo(id: "vol-9", nbdURI: "nbd:unix:\(folder.file("vol-9.sock"))")
        let missing = await probe.observe(storageRequest(ebsInstance(qmp: qmp, volumes: [volume, ghost])))
        #expect(missing.outcome == .failed)
        #expect(missing.message.contains("vol-9: not attached"), "\(missing.message)")

        let block = QMPBlockProbe(environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let blockRequest = storageRequest(ebsInstance(qmp: qmp, volumes: [volume]))
        let blocks = await block.observe(blockRequest)
        #expect(blocks.outcome == .passed, "\(blocks.message)")
        #expect(blocks.values["devices"] == 2)

        nbdkit.stop()
        let gone = await probe.observe(storageRequest(ebsInstance(qmp: qmp, volumes: [volume])))
        #expect(gone.outcome == .failed)
        #expect(gone.message.contains("nbdkit gone"), "\(gone.message)")

        // A new nbdkit on the same socket: served again, but QEMU's connection died with the old one.
        try? FileManager.default.removeItem(atPath: volumeSocket)
        let restarted = try await StorageFixtures.startNBDKit(socket: volumeSocket)
        defer { restarted.stop() }
        #expect(
            await eventually(timeout: .seconds(20)) { UnixSocketOwners.acceptedConnections(path: volumeSocket) == 0 })
        let lost = await probe.observe(storageRequest(ebsInstance(qmp: qmp, volumes: [volume])))
        #expect(lost.outcome == .failed)
        #expect(lost.message.contains("QEMU holds no connection"), "\(lost.message)")
        let unchecked = await probe.observe(
            storageRequest(ebsInstance(qmp: qmp, volumes: [volume]), ["check_connected": .boolean(false)]))
        #expect(unchecked.outcome == .passed, "\(unchecked.message)")
    }

    @Test("an instance whose QEMU is gone fails; no QMP socket is unknown; no volumes passes without asking")
    func qemuGone() async throws {
        let folder = try ShortTemporaryFolder(prefix: "ebs")
        defer { folder.remove() }
        let probe = EBSAttachmentProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(.init()))
        let volume = VolumeInfo(id: "vol-1", nbdURI: "nbd:unix:\(folder.file("vol.sock"))")
        let gone = await probe.observe(storageRequest(ebsInstance(qmp: folder.file("none.sock"), volumes: [volume])))
        #expect(gone.outcome == .failed)
        let unset = await probe.observe(storageRequest(ebsInstance(qmp: "", volumes: [volume])))
        #expect(unset.outcome == .unknown)
        let none = await probe.observe(storageRequest(ebsInstance(qmp: folder.file("none.sock"), volumes: [])))
        #expect(none.outcome == .passed)
    }

    @Test("qmp.block: io-status failed fails; failed operations fail when they grow, not on the first run")
    func blockCounters() async throws {
        let folder = try ShortTemporaryFolder(prefix: "ebs")
        defer { folder.remove() }
        let failed = SharedValue(3)
        let ioStatus = SharedValue("ok")
        let peer = try FakeUnixPeer(path: folder.file("qmp.sock")) { connection in
            connection.send(greetingLine)
            while let line = connection.readLine() {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let id = (object["id"] as? NSNumber)?.intValue, let command = object["execute"] as? String
                else { continue }
                switch command {
                case "query-block":
                    let status = ioStatus.withLock { $0 }
                    connection.send(
                        #"{"return": [{"device": "drive-vol1", "io-status": "\#(status)", "inserted": "#
                            + #"{"drv": "nbd", "file": "nbd+unix://?socket=/x.sock", "node-name": "n1"}}], "#
                            + #""id": \#(id)}"# + "\n")
                case "query-blockstats":
                    let count = failed.withLock { $0 }
                    connection.send(
                        #"{"return": [{"device": "drive-vol1", "stats": {"failed_rd_operations": \#(count), "#
                            + #""failed_wr_operations": 0, "failed_flush_operations": 0}}], "id": \#(id)}"# + "\n")
                default:
                    connection.send(#"{"return": {}, "id": \#(id)}"# + "\n")
                }
            }
        }
        defer { peer.stop() }
        let pool = QMPConnectionPool()
        defer { Task { await pool.closeAll() } }
        let probe = QMPBlockProbe(environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let volume = VolumeInfo(id: "vol-1", nbdURI: "nbd+unix:///?socket=/x.sock")
        let request = storageRequest(ebsInstance(qmp: folder.file("qmp.sock"), volumes: [volume]))
        let first = await probe.observe(request)
        #expect(first.outcome == .passed, "\(first.message)")
        #expect(first.values["failed_operations"] == 3)
        failed.withLock { $0 = 5 }
        let grown = await probe.observe(request)
        #expect(grown.outcome == .failed)
        #expect(grown.message.contains("2 failed I/O operations"), "\(grown.message)")
        let steady = await probe.observe(request)
        #expect(steady.outcome == .passed, "\(steady.message)")
        ioStatus.withLock { $0 = "failed" }
        let stopped = await probe.observe(request)
        #expect(stopped.outcome == .failed)
        #expect(stopped.message.contains("io-status failed"), "\(stopped.message)")
    }
}

extension EBSAttachmentProbeTests {
    @Test("qmp.block: a real guest's I/O rates per volume from query-blockstats; a latency limit fails")
    func blockRates() async throws {
        // Block statistics are kept by the guest's device (virtio-blk), not for QEMU's own qemu-io: a real guest writes.
        let launcher = try await HiveInstanceLauncher(
            node: "node-rates", natsURL: nil, guest: .linux, logger: Logger(label: "rates"))
        defer { launcher.stop() }
        let spec = HiveInstanceSpec.random(volumes: 1)
        try await launcher.launch(spec)
        let booted = await launcher.waitForConsole(spec.id, LinuxGuestImage.loginMarker, timeout: .seconds(300))
        try #require(booted, "\(launcher.consoleLog(spec.id).suffix(2000))")
        let pool = QMPConnectionPool()
        defer { Task { await pool.closeAll() } }
        let probe = QMPBlockProbe(
            environment: ProbeEnvironment(runtimeDirectory: launcher.runtime.path).withQMPConnections(pool))
        let volume = spec.volumes[0]
        let target = ebsInstance(
            qmp: launcher.paths(spec.id).telemetryQMPSocket,
            volumes: [VolumeInfo(id: volume, nbdURI: "nbd:unix:\(launcher.paths(spec.id).nbdSocket(volume))")])
        let first = await probe.observe(storageRequest(target))
        #expect(first.outcome == .passed, "\(first.message)")
        #expect(first.values["\(volume).write_bytes_per_second"] == nil)
        try await launcher.typeOnSerialConsole(
            spec.id, "dd if=/dev/zero of=/data/io bs=64k count=32 conv=fsync 2>/dev/null; cat /data/io >/dev/null")
        let wrote = await eventually(timeout: .seconds(30), poll: .milliseconds(500)) {
            let seen = await probe.observe(storageRequest(target))
            return (seen.values["\(volume).write_bytes_per_second"] ?? 0) > 0
                && (seen.values["\(volume).write_operations_per_second"] ?? 0) > 0
                && seen.values["\(volume).write_latency_ms"] != nil
        }
        #expect(wrote, "console: \(launcher.consoleLog(spec.id).suffix(500))")
        // A limit no write can meet: failed, naming the volume.
        let strict = storageRequest(target, ["max_write_latency_ms": .number(0.000001)])
        try await launcher.typeOnSerialConsole(spec.id, "dd if=/dev/zero of=/data/io bs=64k count=16 conv=fsync")
        var message = ""
        let slow = await eventually(timeout: .seconds(30), poll: .milliseconds(500)) {
            let seen = await probe.observe(strict)
            message = seen.message
            return seen.outcome == .failed && seen.message.contains("\(volume): write latency")
        }
        #expect(slow, "\(message)")
    }
}

/// A value a fake peer's thread and the test share.
final class SharedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Answer>(_ body: (inout Value) -> Answer) -> Answer { value.withLock { body(&$0) } }
}

import Foundation
import HealthCore
import HealthProbes
import HealthTestKit
import Synchronization
import Testing

@Suite("console.log")
struct ConsoleLogProbeTests {
    final class Wall: Sendable {
        let now = Mutex(Date())
        func advance(_ seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    func consoleTarget(_ path: String, launched: Date?) -> Target {
        .instance(InstanceInfo(id: "i-0con", node: testNode.name, launchTime: launched, consoleLogPath: path))
    }

    func append(_ path: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    @Test("reads from the last offset: a panic fails until the next boot marker")
    func panicThenReboot() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("console.log", "[    0.000000] Linux version 6.1\n")
        let path = tree.path("console.log")
        let wall = Wall()
        let probe = ConsoleLogProbe(environment: tree.environment, wallClock: { wall.now.withLock { $0 } })
        let request = makeRequest(target: consoleTarget(path, launched: wall.now.withLock { $0 }))
        let booting = await probe.observe(request)
        #expect(booting.outcome == .passed)
        #expect(booting.message.contains("booting"))
        try append(path, "Ubuntu 24.04 LTS ip-10-0-0-5 ttyS0\n\nip-10-0-0-5 login: \n")
        let booted = await probe.observe(request)
        #expect(booted.outcome == .passed)
        #expect(booted.message.contains("clean"))
        try append(path, "[  100.1] Kernel panic - not syncing: Attempted to kill init!\n")
        let panicked = await probe.observe(request)
        #expect(panicked.outcome == .failed)
        #expect(panicked.message.contains("Attempted to kill init"))
        // Nothing new: still failed (remembered), the old bytes are not read again.
        let again = await probe.observe(request)
        #expect(again.outcome == .failed)
        #expect(again.values["offset_bytes"] == panicked.values["offset_bytes"])
        try append(path, "Cloud-init v. 24.1 finished at Mon\n")
        #expect(await probe.observe(request).outcome == .passed)
    }

    @Test("the kernel remounting a file system read-only fails until that device is mounted again or a reboot")
    func readOnlyFileSystem() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("console.log", "hive-guest login: \n")
        let path = tree.path("console.log")
        let probe = ConsoleLogProbe(environment: tree.environment)
        let request = makeRequest(target: consoleTarget(path, launched: Date()))
        #expect(await probe.observe(request).outcome == .passed)
        // What Debian's 6.1 kernel prints for an ext4 error with errors=remount-ro.
        try append(
            path,
            "[  120.5] EXT4-fs error (device vda): ext4_journal_check_start:83: comm sh: Detected aborted journal\n"
                + "[  120.6] EXT4-fs (vda): Remounting filesystem read-only\n")
        let readOnly = await probe.observe(request)
        #expect(readOnly.outcome == .failed)
        #expect(readOnly.message.contains("read-only"), "\(readOnly.message)")
        // Another device mounted: still failed; the same device mounted again: passed.
        try append(path, "[  130.0] EXT4-fs (vdb): mounted filesystem with ordered data mode. Quota mode: none.\n")
        #expect(await probe.observe(request).outcome == .failed)
        try append(path, "[  131.0] EXT4-fs (vda): mounted filesystem without journal. Quota mode: none.\n")
        #expect(await probe.observe(request).outcome == .passed)
        // A btrfs one, cleared by the next boot.
        try append(path, "[  140.0] BTRFS error (device vdc): forced readonly\n")
        #expect(await probe.observe(request).outcome == .failed)
        try append(path, "hive-guest login: \n")
        #expect(await probe.observe(request).outcome == .passed)
    }

    @Test("no boot marker within the grace period is a stuck boot; truncation restarts the log")
    func stuckBootAndTruncation() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("console.log", "SeaBIOS\nBooting from Hard Disk...\n")
        let path = tree.path("console.log")
        let wall = Wall()
        let probe = ConsoleLogProbe(environment: tree.environment, wallClock: { wall.now.withLock { $0 } })
        let request = makeRequest(
            target: consoleTarget(path, launched: wall.now.withLock { $0 }),
            ["boot_grace": .duration(.seconds(60))])
        #expect(await probe.observe(request).outcome == .passed)
        wall.advance(61)
        let stuck = await probe.observe(request)
        #expect(stuck.outcome == .failed)
        #expect(stuck.message.contains("stuck boot"))

        try tree.write("console.log", "host login: \n")
        // Shorter than the offset: truncated, read again from the start.
        let restarted = await probe.observe(request)
        #expect(restarted.outcome == .passed, "\(restarted.message)")
        #expect(restarted.message.contains("restarted"))
    }

    @Test("rotation (a new file) and configurable patterns; a partial line waits for its end")
    func rotationAndPatterns() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("console.log", "boot ok READY\n")
        let path = tree.path("console.log")
        let probe = ConsoleLogProbe(environment: tree.environment)
        let request = makeRequest(
            target: consoleTarget(path, launched: Date()),
            ["boot_markers": .stringList(["READY"]), "panic_patterns": .stringList(["OOPS"])])
        #expect(await probe.observe(request).message.contains("clean"))
        try append(path, "OOP")
        #expect(await probe.observe(request).outcome == .passed)
        try append(path, "S here\n")
        #expect(await probe.observe(request).outcome == .failed)
        try FileManager.default.removeItem(atPath: path)
        try tree.write("console.log", "READY again\n")
        let rotated = await probe.observe(request)
        #expect(rotated.outcome == .passed, "\(rotated.message)")
        let missing = await probe.observe(makeRequest(target: consoleTarget(tree.path("none.log"), launched: nil)))
        #expect(missing.outcome == .unknown)
    }

    @Test("a log growing by 8 MiB is read at most max_read_bytes per run")
    func bounded() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let line = String(repeating: "x", count: 1023) + "\n"
        try tree.write("console.log", String(repeating: line, count: 8192))
        let probe = ConsoleLogProbe(environment: tree.environment)
        let observation = await probe.observe(
            makeRequest(
                target: consoleTarget(tree.path("console.log"), launched: Date()), ["max_read_bytes": .integer(65536)]))
        #expect(observation.outcome == .passed)
        #expect((observation.values["skipped_bytes"] ?? 0) >= Double(8 << 20) - 65536)
    }
}

@Suite("console.log serial socket")
struct ConsoleSerialSocketTests {
    @Test("a live QEMU serial chardev and VNC socket accept; after kill -9 the stale sockets refuse: failed")
    func serialSocket() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let serial = folder.file("serial.sock")
        let vnc = folder.file("vnc.sock")
        let qemu = try await QEMUFixtures.startQEMU(
            qmp: folder.file("qmp.sock"),
            extra: ["-chardev", "socket,id=ser0,path=\(serial),server=on,wait=off", "-vnc", "unix:\(vnc)"])
        defer { qemu.stop() }
        #expect(await waitForListener(serial))
        #expect(await waitForListener(vnc))
        try Data("host login: \n".utf8).write(to: URL(fileURLWithPath: folder.file("console.log")))
        let probe = ConsoleLogProbe(environment: ProbeEnvironment(runtimeDirectory: folder.path))
        let target = Target.instance(
            InstanceInfo(
                id: "i-0ser", node: testNode.name, launchTime: Date(), serialSocket: serial,
                consoleLogPath: folder.file("console.log")))
        let live = await probe.observe(makeRequest(target: target, ["vnc_socket": .string(vnc)]))
        #expect(live.outcome == .passed, "\(live.message)")
        qemu.stop()
        let dead = await probe.observe(makeRequest(target: target))
        #expect(dead.outcome == .failed, "\(dead.message)")
        #expect(dead.message.contains("refuses"))
        let deadVNC = await probe.observe(
            makeRequest(target: target, ["vnc_socket": .string(vnc), "serial_socket": .string("")]))
        #expect(deadVNC.outcome == .failed, "\(deadVNC.message)")
        #expect(deadVNC.message.contains("VNC"))
    }
}

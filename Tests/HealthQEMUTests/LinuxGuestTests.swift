import Foundation
import HealthQEMU
import HealthTestKit
import Testing

@Suite("The tiny Linux guest", .serialized)
struct LinuxGuestTests {
    @Test("initramfs: a newc archive the kernel can unpack, with /init, busybox, qemu-ga and the modules in order")
    func imageContents() async throws {
        let image = try await LinuxGuestImage.prepared()
        let archive = try Data(contentsOf: URL(fileURLWithPath: image.initramfs))
        #expect(archive.prefix(6) == Data("070701".utf8))
        let text = String(decoding: archive, as: UTF8.self)
        for name in ["init", "bin/busybox", "usr/sbin/qemu-ga", "etc/modules", "lib/modules/virtio_console.ko"] {
            #expect(text.contains(name + "\0"), "\(name) missing")
        }
        #expect(text.contains("TRAILER!!!\0"))
        let kernel = try FileHandle(forReadingFrom: URL(fileURLWithPath: image.kernel))
        defer { try? kernel.close() }
        #expect(try kernel.read(upToCount: 4) == Data([0x7F, 0x45, 0x4C, 0x46]))
        // A second call finds the cache (same key) instead of building again.
        #expect(try await LinuxGuestImage.prepared().initramfs == image.initramfs)
    }

    @Test("the guest boots; its own qemu-ga answers guest-ping and guest-get-fsinfo (the virtio disk at /data)")
    func bootsAndAgentAnswers() async throws {
        let launcher = try await HiveInstanceLauncher(
            node: "node-guest", natsURL: nil, guest: .linux, logger: testLogger)
        defer { launcher.stop() }
        let spec = HiveInstanceSpec.random()
        try await launcher.launch(spec)
        let booted = await launcher.waitForConsole(spec.id, LinuxGuestImage.loginMarker, timeout: .seconds(240))
        #expect(booted, "no login marker: \(launcher.consoleLog(spec.id).suffix(2000))")
        guard booted else { return }
        let socket = launcher.paths(spec.id).guestAgentSocket
        var filesystems: [QMPValue] = []
        let answered = await eventually(timeout: .seconds(60), poll: .seconds(1)) {
            guard let session = try? GuestAgentSession.open(path: socket, logger: testLogger) else { return false }
            defer { session.close() }
            guard (try? await session.synchronize(timeout: .seconds(10))) != nil,
                (try? await session.execute("guest-ping", timeout: .seconds(10))) == .object([:]),
                let fsinfo = try? await session.execute("guest-get-fsinfo", timeout: .seconds(10))
            else { return false }
            filesystems = fsinfo.array ?? []
            return filesystems.contains { $0["mountpoint"]?.string == LinuxGuestImage.dataMountPoint }
        }
        #expect(answered, "fsinfo: \(filesystems); console: \(launcher.consoleLog(spec.id).suffix(1500))")
    }
}

import Foundation
import HealthIO

/// What ``HiveInstanceLauncher``'s instances boot.
public enum HiveGuestKind: Sendable, Hashable {
    /// A 64 KiB firmware that halts the CPU: no guest code runs; a host `qemu-ga` answers on the agent socket.
    case haltingFirmware
    /// ``LinuxGuestImage``: a Debian kernel, busybox and the guest's own `qemu-ga` on its virtio-serial channel.
    case linux
}

extension HiveInstanceLauncher {
    /// Memory of a Linux guest at least (the kernel and its initramfs need more than the firmware's 64 MiB).
    public static let linuxGuestMinimumMemoryMiB = 256

    /// Whether KVM helps a Linux guest here: `/dev/kvm` opens and it is not `kvm_pvm` (KVM without hardware
    /// virtualisation, whose shadow paging boots an unmodified kernel far slower than TCG: on this project's build
    /// machine the kernel had not printed a line after a minute, where TCG reached the login marker in 45 s under
    /// load). `HIVE_HEALTH_GUEST_ACCEL=kvm|tcg` decides instead.
    public static func kvmFastForLinux() -> Bool {
        switch ProcessInfo.processInfo.environment["HIVE_HEALTH_GUEST_ACCEL"] {
        case "kvm"?: return kvmUsable()
        case "tcg"?: return false
        default: return kvmUsable() && !FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
        }
    }

    /// The QEMU command line of a Linux guest: Hive's monitors, pidfile and serial console as for the firmware; the
    /// kernel and initramfs (`-kernel`/`-initrd`, qboot as firmware when installed: it loads them at once); each
    /// volume as a virtio disk (the first is the guest's `/dev/vda`, mounted at ``LinuxGuestImage/dataMountPoint``);
    /// a balloon `balloon0` (statistics for `guest.resources`); the agent channel's chardev listening on the socket
    /// the guest agent check uses (the guest's qemu-ga is at the other end); the tap.
    func linuxGuestArguments(_ spec: HiveInstanceSpec, image: LinuxGuestImage) -> [String] {
        let paths = paths(spec.id)
        let commandLine = (["console=ttyS0", "quiet", "panic=0", "mitigations=off"] + spec.guestKernelArguments)
        var arguments = [
            "-accel", usesKVM ? "kvm" : "tcg", "-machine", "pc", "-nodefaults", "-display", "none",
            "-m", "\(max(spec.memoryMiB, Self.linuxGuestMinimumMemoryMiB))", "-pidfile", paths.pidFile,
            "-kernel", image.kernel, "-initrd", image.initramfs, "-append", commandLine.joined(separator: " "),
            "-qmp", "unix:\(paths.qmpSocket),server=on,wait=off",
            "-qmp", "unix:\(paths.telemetryQMPSocket),server=on,wait=off",
            "-chardev",
            "socket,id=serial0,path=\(paths.serialSocket),server=on,wait=off,logfile=\(paths.consoleLog),logappend=on",
            "-serial", "chardev:serial0",
        ]
        let qboot = "/usr/share/qemu/qboot.rom"
        if FileManager.default.fileExists(atPath: qboot) { arguments += ["-bios", qboot] }
        for volume in spec.volumes {
            arguments += [
                "-drive",
                "file=nbd:unix:\(paths.nbdSocket(volume)),file.reconnect-delay=300,format=raw,if=none,id=\(volume)",
                "-device", "virtio-blk-pci,drive=\(volume),id=disk-\(volume)",
            ]
        }
        arguments += [
            "-device", "virtio-balloon-pci,id=balloon0",
            "-device", "virtio-serial-pci,id=vser0",
            "-chardev", "socket,id=qga0,path=\(paths.guestAgentSocket),server=on,wait=off",
            "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
            "-netdev", "tap,id=net0,ifname=\(spec.tapName),script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=net0,mac=\(spec.mac),romfile=",
        ]
        return arguments
    }

    /// Types `line` (a newline is added) into the guest's serial console, where the Linux guest runs a root shell.
    /// What the guest answers goes to the console log. The connection stays open until the shell has echoed about
    /// as many bytes (at most 10 s): QEMU drops what the UART has not taken yet when the client closes.
    public func typeOnSerialConsole(_ id: String, _ line: String) async throws {
        let socket = paths(id).serialSocket
        let before = consoleLogSize(id)
        try await offCooperativePool {
            let console = try StreamSocket.connect(unixPath: socket)
            defer { console.close() }
            try console.write(
                Array((line + "\n").utf8), deadline: .now.advanced(by: .seconds(10)), step: "typing on \(id)'s console")
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while ContinuousClock.now < deadline, self.consoleLogSize(id) - before < line.utf8.count + 1 {
                usleep(50_000)
            }
        }
    }

    /// The console log of an instance so far.
    public func consoleLog(_ id: String) -> String {
        (try? String(contentsOfFile: paths(id).consoleLog, encoding: .utf8)) ?? ""
    }

    /// Waits until the console log shows `text` after `offset` bytes (e.g. the login marker after a reboot).
    public func waitForConsole(_ id: String, _ text: String, after offset: Int = 0, timeout: Duration) async -> Bool {
        await eventually(timeout: timeout, poll: .milliseconds(250)) {
            let log = Array(self.consoleLog(id).utf8)
            guard log.count > offset else { return false }
            return String(decoding: log[offset...], as: UTF8.self).contains(text)
        }
    }

    /// The console log's size in bytes (an offset for ``waitForConsole(_:_:after:timeout:)``).
    public func consoleLogSize(_ id: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: paths(id).consoleLog)[.size]) as? NSNumber)?.intValue ?? 0
    }
}

import Foundation
import HealthCore
import HealthInventory
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A fake `/proc`: one directory per pid with `cmdline` and `stat`, and `/proc/stat` with `btime`.
struct FixtureProc {
    let directory: TemporaryDirectory
    var root: String { directory.path }

    init(bootTime: Int = 1_790_000_000) throws {
        directory = try TemporaryDirectory()
        try directory.write("stat", "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 0\nctxt 12\nbtime \(bootTime)\nprocesses 9\n")
        try directory.write("self/cmdline", "not-a-pid\0")
    }

    /// A process with argv and a start time in clock ticks after boot.
    func process(_ pid: Int, _ argv: [String], startTicks: Int = 0, comm: String = "qemu-system-x86") throws {
        try directory.write("\(pid)/cmdline", Array(argv.joined(separator: "\0").utf8) + [0])
        var fields = ["S", "1", String(pid), String(pid), "0", "-1", "4194560"]
        fields += Array(repeating: "0", count: 12)
        fields.append(String(startTicks))
        fields += ["123456", "789"]
        try directory.write("\(pid)/stat", "\(pid) (\(comm)) " + fields.joined(separator: " ") + "\n")
    }

    func remove() { directory.remove() }
}

@Suite("QemuScanInventory")
struct QemuScanInventoryTests {
    let node = NodeInfo(name: "node1", region: "ap-southeast-2", availabilityZone: "ap-southeast-2a")
    let layout = RuntimeLayout(directory: "/run/user/0")
    let logger = Logger(label: "test.qemu-scan")

    /// What Hive's `Config.Execute` produces for an instance with a boot drive, a data volume, a tap and the
    /// telemetry monitor, plus a guest agent channel.
    static let hiveArgv = [
        "/usr/bin/qemu-system-x86_64",
        "-pidfile", "/run/user/0/i-0a1b2c3d.pid",
        "-qmp", "unix:/run/user/0/qmp-i-0a1b2c3d.sock,server,nowait",
        "-qmp", "unix:/run/user/0/qmp-telemetry-i-0a1b2c3d.sock,server,nowait",
        "-uuid", "ec2e1c2d-0000-4000-8000-000000000001",
        "-enable-kvm", "-cpu", "host", "-display", "none",
        "-chardev",
        "socket,id=console0,path=/run/user/0/serial-i-0a1b2c3d.sock,server=on,wait=off,"
            + "logfile=/var/log/hive/console-i-0a1b2c3d.log",
        "-serial", "chardev:console0",
        "-smp", "2", "-m", "2048",
        "-object", "iothread,id=ioth-os",
        "-drive", "file=nbd:unix:/run/viperblock/nbd-vol-0aaa1111.sock,format=raw,if=none,media=disk,id=os",
        "-blockdev",
        "driver=nbd,node-name=nbd-vol-0bbb2222,server.type=unix,server.path=/run/viperblock/data.sock,export=,"
            + "reconnect-delay=30",
        "-device", "virtio-blk-pci,drive=os,iothread=ioth-os,bootindex=1",
        "-device", "virtio-blk-pci,id=vdisk-vol-0bbb2222,drive=nbd-vol-0bbb2222,bus=hotplug-ebs0,werror=stop",
        "-netdev", "tap,id=net0,ifname=tap0123456789ab,script=no,downscript=no,vhost=on",
        "-device", "virtio-net-pci,netdev=net0,mac=02:00:00:12:34:56,rx_queue_size=1024",
        "-chardev", "socket,id=qga0,path=/run/user/0/qga-i-0a1b2c3d.sock,server=on,wait=off",
        "-device", "virtio-serial-pci",
        "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
        "-M", "q35",
    ]

    /// The other common spellings: -name guest=, -mon, nbd:// and JSON -blockdev, -serial unix:, -nic.
    static let otherArgv = [
        "qemu-system-aarch64",
        "-name", "guest=i-0def4567,debug-threads=on",
        "-chardev", "socket,id=mon0,path=/srv/vm/hmp-and-qmp,,odd.sock,server=on,wait=off",
        "-mon", "chardev=mon0,mode=control",
        "-chardev", "socket,id=hmp,path=/srv/vm/hmp.sock,server=on,wait=off",
        "-mon", "chardev=hmp,mode=readline",
        "--qmp", "unix:path=/srv/vm/second.sock,server=on,wait=off",
        "-drive", "file=nbd://10.0.0.5:10809/vol-0789abcd,format=raw,if=virtio",
        "-drive", "file=/var/lib/images/seed.iso,media=cdrom",
        "-blockdev",
        #"{"driver":"nbd","node-name":"data1","server":{"type":"inet","host":"10.0.0.6","port":"10810"},"#
            + #""export":"disk"}"#,
        "-drive", "file=nbd:unix:/tmp/plain.sock,id=scratch",
        "-serial", "unix:/srv/vm/serial.sock,server,nowait",
        "-nic", "tap,ifname=tapother0,model=virtio",
        "-device", #"{"driver":"virtserialport","chardev":"mon0","name":"org.qemu.guest_agent.0"}"#,
    ]

    @Test("a Hive-style QEMU command line yields every socket, drive and tap")
    func hiveCommandLine() async throws {
        let proc = try FixtureProc()
        defer { proc.remove() }
        try proc.process(4242, Self.hiveArgv, startTicks: 123_400)
        let snapshot = try await QemuScanInventory(procRoot: proc.root, node: node, layout: layout, logger: logger)
            .snapshot()
        #expect(snapshot.skipped.isEmpty)
        let instance = try #require(snapshot.instances.first)
        #expect(snapshot.instances.count == 1)
        #expect(instance.id == "i-0a1b2c3d")
        #expect(instance.state == .running)
        #expect(instance.node == "node1")
        #expect(instance.availabilityZone == "ap-southeast-2a")
        #expect(instance.qmpSocket == "/run/user/0/qmp-i-0a1b2c3d.sock")
        #expect(instance.telemetryQMPSocket == "/run/user/0/qmp-telemetry-i-0a1b2c3d.sock")
        #expect(instance.pidFile == "/run/user/0/i-0a1b2c3d.pid")
        #expect(instance.serialSocket == "/run/user/0/serial-i-0a1b2c3d.sock")
        #expect(instance.consoleLogPath == "/var/log/hive/console-i-0a1b2c3d.log")
        #expect(instance.guestAgentSocket == "/run/user/0/qga-i-0a1b2c3d.sock")
        #expect(instance.tapName == "tap0123456789ab")
        #expect(
            instance.volumes == [
                VolumeInfo(id: "vol-0aaa1111", nbdURI: "nbd:unix:/run/viperblock/nbd-vol-0aaa1111.sock", boot: true),
                VolumeInfo(id: "vol-0bbb2222", nbdURI: "nbd:unix:/run/viperblock/data.sock", boot: false),
            ])
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let launch = try #require(instance.launchTime)
        #expect(abs(launch.timeIntervalSince1970 - (1_790_000_000 + 123_400 / ticks)) < 0.001)
    }

    @Test("-name, -mon control monitors, JSON -blockdev, nbd:// drives, -serial unix: and -nic are understood")
    func otherSpellings() async throws {
        let proc = try FixtureProc()
        defer { proc.remove() }
        try proc.process(77, Self.otherArgv)
        let snapshot = try await QemuScanInventory(procRoot: proc.root, node: node, layout: layout, logger: logger)
            .snapshot()
        let instance = try #require(snapshot.instances.first)
        #expect(instance.id == "i-0def4567")
        #expect(instance.qmpSocket == "/srv/vm/hmp-and-qmp,odd.sock")
        #expect(instance.telemetryQMPSocket == "/srv/vm/second.sock")
        #expect(instance.guestAgentSocket == "/srv/vm/hmp-and-qmp,odd.sock")
        #expect(instance.serialSocket == "/srv/vm/serial.sock")
        #expect(instance.tapName == "tapother0")
        // Paths the command line does not give come from the runtime layout.
        #expect(instance.pidFile == "/run/user/0/i-0def4567.pid")
        #expect(instance.consoleLogPath == "/run/user/0/console-i-0def4567.log")
        #expect(
            instance.volumes == [
                VolumeInfo(id: "vol-0789abcd", nbdURI: "nbd://10.0.0.5:10809/vol-0789abcd"),
                VolumeInfo(id: "i-0def4567-data1", nbdURI: "nbd://10.0.0.6:10810/disk"),
                VolumeInfo(id: "i-0def4567-scratch", nbdURI: "nbd:unix:/tmp/plain.sock"),
            ])
    }

    @Test("non-QEMU, vanished and unidentifiable processes are handled; duplicates are skipped with a reason")
    func mixedProcessTable() async throws {
        let proc = try FixtureProc()
        defer { proc.remove() }
        try proc.process(1, ["/sbin/init"], comm: "systemd")
        try proc.process(10, ["/usr/bin/qemu-img", "info", "x"], comm: "qemu-img")
        try proc.process(11, ["/usr/local/bin/not-qemu-system-x86_64", "-qmp", "unix:/x/qmp-i-1.sock"])
        try proc.process(20, ["qemu-system-x86_64", "-m", "512", "-nographic"], comm: "qemu-system-x86")
        try proc.process(21, ["qemu-system-x86_64", "-pidfile", "/run/i-0ccc.pid"])
        try proc.process(22, ["qemu-system-x86_64", "-name", "i-0ccc"])
        // A zombie has an empty cmdline; a vanished process has a directory but no files.
        try proc.directory.write("30/cmdline", "")
        try FileManager.default.createDirectory(atPath: proc.directory.file("31"), withIntermediateDirectories: true)
        // A process whose stat cannot be read is still listed, without a launch time.
        try proc.directory.write("40/cmdline", "qemu-system-x86_64\0-qmp\0unix:/r/qmp-i-0eee.sock,server\0")

        let snapshot = try await QemuScanInventory(procRoot: proc.root, node: node, layout: layout, logger: logger)
            .snapshot()
        #expect(snapshot.instances.map(\.id) == ["i-0ccc", "i-0eee", "qemu-20"])
        #expect(snapshot.skipped == [SkippedRecord(id: "pid 22", reason: "instance i-0ccc is also run by pid 21")])
        let anonymous = try #require(snapshot.instances.last)
        #expect(anonymous.qmpSocket == "/run/user/0/qmp-qemu-20.sock")
        #expect(anonymous.volumes.isEmpty)
        #expect(snapshot.instances.first { $0.id == "i-0eee" }?.launchTime == nil)
        let boot = Date(timeIntervalSince1970: 1_790_000_000)
        #expect(snapshot.instances.first { $0.id == "i-0ccc" }?.launchTime == boot)
    }

    @Test("a command line over 1 MiB is not read")
    func oversizedCommandLine() async throws {
        let proc = try FixtureProc()
        defer { proc.remove() }
        let huge = String(repeating: "x", count: QemuScanInventory.maximumCommandLine)
        try proc.process(5, ["qemu-system-x86_64", "-name", "i-0big", "-append", huge])
        try proc.process(6, ["qemu-system-x86_64", "-name", "i-0small"])
        let snapshot = try await QemuScanInventory(procRoot: proc.root, node: node, layout: layout, logger: logger)
            .snapshot()
        #expect(snapshot.instances.map(\.id) == ["i-0small"])
    }

    @Test("an unreadable proc root is an error")
    func missingProcRoot() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = QemuScanInventory(procRoot: directory.file("nope"), node: node, layout: layout, logger: logger)
        let error = await #expect(throws: InventoryError.self) { try await source.snapshot() }
        #expect(error?.code == .unreadable)
    }

    @Test("a real process whose argv[0] is qemu-system-x86_64 is found in /proc")
    func realProcess() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let executable = directory.file("qemu-system-x86_64")
        try FileManager.default.createSymbolicLink(atPath: executable, withDestinationPath: "/bin/sleep")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["600"]
        try process.run()
        let pid = process.processIdentifier
        defer {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        let started = Date()
        let source = QemuScanInventory(node: node, layout: layout, logger: logger)
        // Until the child has exec'd, /proc shows the parent's command line: scan until it is there (bounded).
        var found: InstanceInfo?
        let deadline = Date().addingTimeInterval(10)
        while found == nil, Date() < deadline {
            found = try await source.snapshot().instances.first { $0.id == "qemu-\(pid)" }
            if found == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let instance = try #require(found)
        #expect(instance.state == .running)
        #expect(instance.qmpSocket == "/run/user/0/qmp-qemu-\(pid).sock")
        let launch = try #require(instance.launchTime)
        // Boot time is whole seconds and start ticks are 1/CLK_TCK: allow a couple of seconds either way.
        #expect(abs(launch.timeIntervalSince(started)) < 5)
    }
}

@Suite("QemuCommandLine")
struct QemuCommandLineTests {
    @Test("monitor specs in their legacy spellings give the socket path")
    func legacyMonitors() {
        let command = QemuCommandLine.parse([
            "-qmp", "unix:/a.sock,server,nowait", "-qmp", "tcp:127.0.0.1:4444,server", "-qmp-pretty",
            "unix:path=/b.sock,server=on", "-qmp", "unix:",
        ])
        #expect(command.qmpSockets == ["/a.sock", "/b.sock"])
    }

    @Test("a file chardev used as serial is the console log; an isa-serial device counts as serial")
    func fileSerial() {
        let microvm = QemuCommandLine.parse([
            "-chardev", "file,id=console0,path=/var/log/console.log", "-serial", "chardev:console0",
        ])
        #expect(microvm.consoleLogPath == "/var/log/console.log")
        #expect(microvm.serialSocket == nil)
        let device = QemuCommandLine.parse([
            "-chardev", "socket,id=s0,path=/s.sock,server=on", "-device", "isa-serial,chardev=s0",
        ])
        #expect(device.serialSocket == "/s.sock")
    }

    @Test("NBD URIs: exportname, nbd+unix and blockdev exports")
    func nbdForms() {
        let command = QemuCommandLine.parse([
            "-drive", "file=nbd:unix:/v/vol-0a.sock:exportname=disk,id=d0",
            "-drive", "file=nbd+unix:///vol-0b?socket=/v/b.sock,id=d1",
            "-blockdev", "driver=nbd,node-name=n2,server.type=unix,server.path=/v/c.sock,export=vol-0c",
            "-drive", "file.driver=nbd,file.server.type=inet,file.server.host=::1,file.server.port=10809,id=d3",
            "-blockdev", "driver=qcow2,node-name=q,file=f",
        ])
        #expect(
            command.drives == [
                .init(
                    id: "d0", uri: "nbd:unix:/v/vol-0a.sock:exportname=disk", socketPath: "/v/vol-0a.sock",
                    export: "disk"),
                .init(id: "d1", uri: "nbd+unix:///vol-0b?socket=/v/b.sock", socketPath: "/v/b.sock", export: "vol-0b"),
                .init(id: "n2", uri: "nbd+unix:///vol-0c?socket=/v/c.sock", socketPath: "/v/c.sock", export: "vol-0c"),
                .init(id: "d3", uri: "nbd://[::1]:10809"),
            ])
        let instance = QemuScanInventory.instance(
            pid: 9,
            arguments: [
                "-name", "i-09", "-drive", "file=nbd:unix:/v/vol-0a.sock:exportname=disk,id=d0",
                "-drive", "file=nbd+unix:///vol-0b?socket=/v/b.sock,id=d1",
            ],
            node: NodeInfo(name: "n"), layout: RuntimeLayout(directory: "/rt"))
        #expect(instance.volumes.map(\.id) == ["vol-0a", "vol-0b"])
    }
}

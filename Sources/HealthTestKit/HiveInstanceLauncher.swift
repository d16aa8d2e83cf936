import Foundation
import HealthCore
import HealthNATS
import Logging

/// One instance for ``HiveInstanceLauncher``: its id, volumes and network interface, as Hive would allocate them.
public struct HiveInstanceSpec: Sendable, Hashable {
    public var id: String
    /// Volume ids (`vol-...`); the first is the boot volume.
    public var volumes: [String]
    public var eniID: String
    public var mac: String
    public var memoryMiB: Int
    /// Extra kernel command line arguments of a Linux guest (e.g. ``LinuxGuestImage/hangBootArgument``).
    public var guestKernelArguments: [String] = []

    public init(id: String, volumes: [String], eniID: String, mac: String, memoryMiB: Int = 64) {
        self.id = id
        self.volumes = volumes
        self.eniID = eniID
        self.mac = mac
        self.memoryMiB = memoryMiB
    }

    /// A fresh instance with EC2-shaped random ids (`i-` and 17 hex digits) and `volumes` volumes.
    public static func random(volumes: Int = 1) -> HiveInstanceSpec {
        func hex(_ count: Int) -> String {
            String((0..<count).map { _ in "0123456789abcdef".randomElement()! })
        }
        let bytes = (0..<5).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }
        return HiveInstanceSpec(
            id: "i-0" + hex(16), volumes: (0..<volumes).map { _ in "vol-0" + hex(16) }, eniID: "eni-0" + hex(16),
            mac: "02:" + bytes.joined(separator: ":"))
    }

    /// Hive's tap name: `tap` + the ENI id without `eni-`, cut to 15 characters (DESIGN.md section 5).
    public var tapName: String {
        String(("tap" + (eniID.hasPrefix("eni-") ? String(eniID.dropFirst(4)) : eniID)).prefix(15))
    }
}

/// The node a ``HiveInstanceLauncher`` builds: the Hive era's, or Spinifex's as its source lays it out
/// (mulgadc/spinifex at ddf22cac, docs/hive.md): prefix `spinifex`, TLS nats-server with a token, the second monitor
/// `qmp-telemetry-<id>.sock` (its collector's), no guest agent channel, the tap on `br-imds` with its `imi-` patch on
/// `br-int`, the control monitor held by a daemon stand-in, an `ebs.provider.v1` responder.
public enum HiveNodeLayout: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case hive
    case spinifex

    /// The first token of bucket and subject names.
    public var prefix: String { rawValue }
    public var description: String { rawValue }
}

/// Where an instance's runtime files are (`<rt>` is the launcher's runtime folder), Hive's names.
public struct HiveInstancePaths: Sendable, Hashable {
    public let runtime: String
    public let id: String
    public var layout: HiveNodeLayout = .hive
    public var qmpSocket: String { "\(runtime)/qmp-\(id).sock" }
    /// The second monitor (`config.telemetry_qmp_socket`): hive-health's own in the hive era; in Spinifex's layout
    /// its metrics collector's, which hive-health only opens for short sessions.
    public var telemetryQMPSocket: String {
        layout == .spinifex ? "\(runtime)/qmp-telemetry-\(id).sock" : "\(runtime)/qmp-health-\(id).sock"
    }
    public var pidFile: String { "\(runtime)/\(id).pid" }
    public var serialSocket: String { "\(runtime)/serial-\(id).sock" }
    public var consoleLog: String { "\(runtime)/console-\(id).log" }
    /// The socket the guest agent check talks to (`config.guest_agent_socket`): the host qemu-ga's, or with the Linux
    /// guest QEMU's end of the agent channel (the guest's own qemu-ga answers).
    public var guestAgentSocket: String { "\(runtime)/qga-\(id).sock" }
    /// QEMU's own end of the virtio-serial agent channel (no guest OS reads it).
    public var agentChannelSocket: String { "\(runtime)/qga-chan-\(id).sock" }
    public var agentStateDirectory: String { "\(runtime)/qga-state-\(id)" }
    public var qemuLog: String { "\(runtime)/qemu-\(id).log" }
    public func nbdSocket(_ volume: String) -> String { "\(runtime)/nbd-\(volume).sock" }
    public func nbdLog(_ volume: String) -> String { "\(runtime)/nbdkit-\(volume).log" }
}

/// Starts instances the way Hive does (DESIGN.md section 5), for end-to-end tests and the demo.
///
/// Per instance: an `nbdkit` (memory plugin) serving each volume on a unix socket; `qemu-system-x86_64` (KVM when
/// `/dev/kvm` opens, else TCG; no guest OS: a firmware that halts the CPU) with Hive's monitor (`-qmp`), a second monitor for health, each volume
/// as `-drive file=nbd:unix:<socket>`, `-pidfile`, a serial chardev logging to `console-<id>.log`, a virtio-serial
/// guest agent channel, and a tap device `tap<eni>`; a host `qemu-ga` (read-only commands only) serving the socket
/// the guest agent check uses. The tap is plugged into bridge `br-int` (netdev datapath) of a real `ovsdb-server` and
/// `ovs-vswitchd` that run in a network namespace of the launcher's own (`hh-<random>-ovs`). QEMU runs in the host
/// namespace, as Hive runs it, so its NBD connections are where hive-health sees them; its tap is moved into the
/// launcher's namespace right after QEMU creates it. VM records go to `instances.json` and to the KV bucket
/// `hive-instance-state` (key `node.<node>`); the node's Hive heartbeat (`hive-cluster-state`, `heartbeat.<node>`)
/// is written every second until ``stopHeartbeat()``.
///
/// Every piece can be broken alone and repaired; ``stop()`` stops every process by its pid and deletes the namespace.
public final class HiveInstanceLauncher: @unchecked Sendable {
    // `@unchecked Sendable`: the mutable process tables are only touched under `lock`.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let node: String
    public let region: String
    public let availabilityZone: String
    /// Hive's runtime directory `<rt>` of this node (`[health] runtime_dir`).
    public let runtime: ShortTemporaryFolder
    /// The network namespace where Open vSwitch and the taps live.
    public let namespace: String
    public var ovsdbSocket: String { runtime.file("ovs-db.sock") }
    public var inventoryFile: String { runtime.file("instances.json") }
    /// Whether QEMU runs with KVM (else TCG).
    public let usesKVM: Bool
    /// What the instances boot: the halting firmware (no guest OS) or the tiny Linux guest.
    public let guest: HiveGuestKind
    /// The Linux guest's kernel and initramfs (with ``HiveGuestKind/linux``).
    public let linuxImage: LinuxGuestImage?

    private let logger: Logger
    private let lock = NSLock()
    private var specs: [String: HiveInstanceSpec] = [:]
    private var launchTimes: [String: Date] = [:]
    private var qemus: [String: ChildProcess] = [:]
    private var agents: [String: ChildProcess] = [:]
    private var nbdkits: [String: ChildProcess] = [:]
    private var ovsdb: ChildProcess?
    private var vswitchd: ChildProcess?
    private var heartbeat: Task<Void, Never>?
    private var stopped = false
    private let nats: NATSConnection?
    private let instanceState: NATSKeyValue?
    private let clusterState: NATSKeyValue?
    /// The node's layout (``HiveNodeLayout``).
    public let layout: HiveNodeLayout
    /// Spinifex layout with NATS: its daemon (records, commands, the held control monitors), its metrics collector
    /// and its EBS provider.
    public let spinifexDaemon: SpinifexDaemonStandIn?
    public let collector: SpinifexQMPCollector?
    public let ebsProvider: SpinifexEBSProvider?

    /// Makes the runtime folder, the namespace and Open vSwitch (bridge `br-int`, netdev datapath); with `natsURL`
    /// (or `natsConfiguration`: TLS, token), the KV buckets and the heartbeat (started at once). `layout` picks the
    /// Hive era's node or Spinifex's.
    public init(
        node: String, region: String = "us-east-1", availabilityZone: String = "us-east-1a", natsURL: String?,
        natsConfiguration: NATSConfiguration? = nil, layout: HiveNodeLayout = .hive,
        guest: HiveGuestKind = .haltingFirmware, logger: Logger
    ) async throws {
        self.node = node
        self.region = region
        self.availabilityZone = availabilityZone
        self.logger = logger
        self.layout = layout
        self.guest = guest
        if guest == .linux {
            linuxImage = try await LinuxGuestImage.prepared()
            usesKVM = Self.kvmFastForLinux()
        } else {
            linuxImage = nil
            usesKVM = Self.kvmUsable()
        }
        runtime = try ShortTemporaryFolder(prefix: "hh-rt")
        namespace = "hh-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-ovs"
        var connected: NATSConnection?
        if let configuration = natsConfiguration ?? natsURL.map({ NATSConfiguration(url: $0) }) {
            let connection = try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
            connected = connection
            nats = connection
            instanceState = try await connection.keyValue(
                KeyValueBucketConfiguration(bucket: "\(layout.prefix)-instance-state"))
            clusterState = try await connection.keyValue(
                KeyValueBucketConfiguration(bucket: "\(layout.prefix)-cluster-state"))
        } else {
            nats = nil
            instanceState = nil
            clusterState = nil
        }
        if layout == .spinifex, let connected {
            spinifexDaemon = try await SpinifexDaemonStandIn(node: node, connection: connected, prefix: layout.prefix)
            collector = SpinifexQMPCollector(interval: .seconds(2), logger: logger)
            ebsProvider = try await SpinifexEBSProvider(connection: connected, volumes: [], owned: [])
        } else {
            spinifexDaemon = nil
            collector = nil
            ebsProvider = nil
        }
        do {
            try writeHaltFirmware()
            try await startOpenVSwitch()
            try await publishInventory()
            if nats != nil { try await startHeartbeat() }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Whether `/dev/kvm` can be opened read-write.
    public static func kvmUsable() -> Bool {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    public func paths(_ id: String) -> HiveInstancePaths {
        HiveInstancePaths(runtime: runtime.path, id: id, layout: layout)
    }

    public var instances: [HiveInstanceSpec] { lock.withLock { specs.values.sorted { $0.id < $1.id } } }

    // MARK: Open vSwitch

    private func startOpenVSwitch() async throws {
        try await Self.tool("ip", ["netns", "add", namespace])
        try await Self.tool("ip", ["-n", namespace, "link", "set", "lo", "up"])
        let database = runtime.file("ovs-conf.db")
        try await Self.tool("ovsdb-tool", ["create", database, OVSDBFixture.schema])
        let server = try ChildProcess(
            "ovsdb-server",
            [
                database, "--remote=punix:\(ovsdbSocket)", "--unixctl=\(runtime.file("ovsdb.ctl"))", "--no-chdir",
                "--log-file=\(runtime.file("ovsdb.log"))", "--pidfile=\(runtime.file("ovsdb.pid"))",
            ])
        lock.withLock { ovsdb = server }
        guard await waitForListener(ovsdbSocket) else { throw Failure("ovsdb-server did not listen on \(ovsdbSocket)") }
        try await vsctl(["--no-wait", "init"])
        // `ip netns exec` and `env` exec in place: the pid is ovs-vswitchd's. Its run files stay in <rt>.
        let switchd = try ChildProcess(
            "ip",
            [
                "netns", "exec", namespace, "env", "OVS_RUNDIR=\(runtime.path)", "OVS_LOGDIR=\(runtime.path)",
                "OVS_DBDIR=\(runtime.path)", ChildProcess.which("ovs-vswitchd") ?? "ovs-vswitchd",
                "unix:\(ovsdbSocket)", "--no-chdir", "--pidfile=\(runtime.file("ovs-vswitchd.pid"))",
                "--log-file=\(runtime.file("ovs-vswitchd.log"))", "--unixctl=\(runtime.file("ovs-vswitchd.ctl"))",
            ])
        lock.withLock { vswitchd = switchd }
        try await vsctl(["--may-exist", "add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev"])
        if layout == .spinifex {
            try await vsctl([
                "--may-exist", "add-br", "br-imds", "--", "set", "bridge", "br-imds", "datapath_type=netdev",
            ])
        }
    }

    /// `ovs-vsctl --db=unix:<socket> --timeout=10 <arguments>` (waits for ovs-vswitchd unless `--no-wait` is given).
    @discardableResult
    public func vsctl(_ arguments: [String]) async throws -> String {
        try await Self.tool("ovs-vsctl", ["--db=unix:\(ovsdbSocket)", "--timeout=10"] + arguments)
    }

    /// Runs a short tool to completion off the cooperative pool, throwing with its stderr on a non-zero exit.
    @discardableResult
    public static func tool(_ name: String, _ arguments: [String]) async throws -> String {
        try await offCooperativePool { try OVSDBFixture.run(name, arguments) }
    }

    // MARK: Instances

    /// Starts the instance: nbdkit per volume, the guest agent, QEMU, its tap on `br-int`; then publishes the
    /// inventory (file and KV).
    public func launch(_ spec: HiveInstanceSpec) async throws {
        lock.withLock {
            specs[spec.id] = spec
            launchTimes[spec.id] = Date()
        }
        let paths = paths(spec.id)
        for volume in spec.volumes { try await startNBDKit(spec.id, volume: volume) }
        // A host-side guest agent stands in for the halting firmware's missing guest, in the hive era only:
        // Spinifex's VMs have no agent channel, and the Linux guest runs its own.
        if layout == .hive, guest == .haltingFirmware {
            try FileManager.default.createDirectory(
                atPath: paths.agentStateDirectory, withIntermediateDirectories: true)
            let agent = try await QEMUFixtures.startGuestAgent(
                socket: paths.guestAgentSocket, stateDirectory: paths.agentStateDirectory,
                log: runtime.file("qga-\(spec.id).log"))
            lock.withLock { agents[spec.id] = agent }
        }
        try await startQEMU(spec.id)
        try await addPort(spec.id)
        if let spinifexDaemon {
            // Spinifex's daemon holds the control monitor for the VM's life; its collector polls the telemetry one.
            spinifexDaemon.holdControlMonitor(paths.qmpSocket, logger: logger)
            collector?.add(paths.telemetryQMPSocket)
            for volume in spec.volumes { ebsProvider?.set(.init(id: volume, availabilityZone: availabilityZone)) }
            try await ebsProvider?.own(spec.volumes)
        }
        try await publishInventory()
    }

    /// A 64 KiB firmware whose reset vector is `cli; hlt`: the VM runs (QMP `running`) and its CPU halts at once. No
    /// guest code runs: SeaBIOS without a bootable disk retries the boot and, under nested KVM, ended in a KVM
    /// internal error (a stopped VM) within a minute.
    public var haltFirmware: String { runtime.file("halt-firmware.bin") }

    private func writeHaltFirmware() throws {
        var image = [UInt8](repeating: 0, count: 65536)
        image.replaceSubrange(0xFFF0..<0xFFF4, with: [0xFA, 0xF4, 0xEB, 0xFD])  // cli; hlt; jmp back to hlt
        try Data(image).write(to: URL(fileURLWithPath: haltFirmware))
    }

    /// The QEMU command line of an instance, Hive's options (DESIGN.md section 5).
    public func qemuArguments(_ spec: HiveInstanceSpec) -> [String] {
        if let linuxImage { return linuxGuestArguments(spec, image: linuxImage) }
        let paths = paths(spec.id)
        var arguments = [
            "-accel", usesKVM ? "kvm" : "tcg", "-machine", "pc", "-nodefaults", "-display", "none",
            "-m", "\(spec.memoryMiB)", "-bios", haltFirmware, "-pidfile", paths.pidFile,
            "-qmp", "unix:\(paths.qmpSocket),server=on,wait=off",
            "-qmp", "unix:\(paths.telemetryQMPSocket),server=on,wait=off",
            "-chardev",
            "socket,id=serial0,path=\(paths.serialSocket),server=on,wait=off,logfile=\(paths.consoleLog),logappend=on",
            "-serial", "chardev:serial0",
        ]
        for volume in spec.volumes {
            // A drive without a guest device: there is no guest OS to use it, and SeaBIOS retrying the boot disk would
            // do I/O during an nbdkit outage. reconnect-delay: the next I/O after nbdkit comes back reconnects.
            arguments += [
                "-drive",
                "file=nbd:unix:\(paths.nbdSocket(volume)),file.reconnect-delay=300,format=raw,if=none,id=\(volume)",
            ]
        }
        if layout == .hive {
            // Spinifex gives its VMs no guest agent channel.
            arguments += [
                "-device", "virtio-serial-pci,id=vser0",
                "-chardev", "socket,id=qga0,path=\(paths.agentChannelSocket),server=on,wait=off",
                "-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
            ]
        }
        arguments += [
            "-netdev", "tap,id=net0,ifname=\(spec.tapName),script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=net0,mac=\(spec.mac),romfile=",
        ]
        return arguments
    }

    /// Starts (or restarts, after ``killQEMU(_:)``) QEMU with the same sockets; moves its new tap into the
    /// namespace and sets it up.
    public func startQEMU(_ id: String) async throws {
        let spec = try spec(id)
        let paths = paths(id)
        for socket in [
            paths.qmpSocket, paths.telemetryQMPSocket, paths.serialSocket, paths.agentChannelSocket,
        ] + (guest == .linux ? [paths.guestAgentSocket] : []) {
            try? FileManager.default.removeItem(atPath: socket)
        }
        let qemu = try ChildProcess("qemu-system-x86_64", qemuArguments(spec), log: paths.qemuLog)
        lock.withLock { qemus[id] = qemu }
        guard await waitForListener(paths.telemetryQMPSocket, timeout: .seconds(30)), qemu.isRunning else {
            let log = (try? String(contentsOfFile: paths.qemuLog, encoding: .utf8)) ?? ""
            throw Failure("QEMU of \(id) did not start: \(log.suffix(1000))")
        }
        // QEMU made the tap in the host namespace; it moves (its descriptor stays with QEMU) into ours.
        let moved = await eventually(timeout: .seconds(20), poll: .milliseconds(20)) {
            (try? await Self.tool("ip", ["link", "set", spec.tapName, "netns", self.namespace])) != nil
        }
        guard moved else { throw Failure("tap \(spec.tapName) of \(id) did not appear") }
        try await setTap(id, up: true)
    }

    /// kill -9 QEMU (its tap goes with it; sockets are left behind, as a crash leaves them).
    public func killQEMU(_ id: String) async {
        guard let qemu = lock.withLock({ qemus.removeValue(forKey: id) }) else { return }
        await offCooperativePool { qemu.stop() }
    }

    public func qemuPid(_ id: String) -> Int32? { lock.withLock { qemus[id]?.pid } }

    /// The instance's `LaunchTime` in its VM record.
    public func launchTime(_ id: String) -> Date? { lock.withLock { launchTimes[id] } }

    /// nbdkit (memory plugin, 16 MiB) on the volume's socket; a stale socket file is removed first.
    public func startNBDKit(_ id: String, volume: String) async throws {
        let paths = paths(id)
        try? FileManager.default.removeItem(atPath: paths.nbdSocket(volume))
        let process = try await StorageFixtures.startNBDKit(
            socket: paths.nbdSocket(volume), size: "16M", log: paths.nbdLog(volume))
        lock.withLock { nbdkits[volume] = process }
    }

    /// kill -9 the nbdkit serving `volume` (its socket file stays, as after a crash).
    public func killNBDKit(volume: String) async {
        guard let process = lock.withLock({ nbdkits.removeValue(forKey: volume) }) else { return }
        await offCooperativePool { process.stop() }
    }

    public func nbdkitPid(volume: String) -> Int32? { lock.withLock { nbdkits[volume]?.pid } }

    /// Restarts nbdkit on the same socket, then has QEMU read from the volume (HMP `qemu-io`), as a guest's next I/O
    /// would: QEMU reconnects (`reconnect-delay`) and holds a connection again. QEMU 7.2 does not always reconnect
    /// (reads succeed, no connection is held); then the drive is attached again (HMP `drive_del` and `drive_add`, as
    /// Hive re-attaching the volume), which opens a fresh connection.
    public func repairNBDKit(_ id: String, volume: String) async throws {
        try await startNBDKit(id, volume: volume)
        let socket = paths(id).qmpSocket
        let nbdSocket = paths(id).nbdSocket(volume)
        // Spinifex's daemon holds the control monitor: the HMP commands go through its connection.
        let hmp: @Sendable (String) async throws -> String = { [spinifexDaemon] command in
            if let spinifexDaemon { return try await spinifexDaemon.humanMonitorCommand(socket, command) }
            return try await HumanMonitor.run(socket: socket, command, timeout: .seconds(30))
        }
        // What QEMU last said (HMP answers errors as text, not as a failed command), for the failure message.
        var last = ""
        func connected(within timeout: Duration, _ command: @escaping () -> String) async -> Bool {
            await eventually(timeout: timeout, poll: .milliseconds(200)) {
                do {
                    let answer = try await hmp(command())
                    if !answer.isEmpty { last = answer }
                } catch {
                    last = "\(error)"
                }
                return Self.acceptedConnections(on: nbdSocket) > 0
            }
        }
        // QEMU's NBD client retries with a backoff that grows to 16 s while the server is away: wait past it.
        if await connected(within: .seconds(30), { "qemu-io \(volume) \"read 0 512\"" }) { return }
        logger.warning("QEMU did not reconnect to \(volume) on I/O; attaching the drive again")
        let deleted = (try? await hmp("drive_del \(volume)")) ?? "(no answer)"
        let attached = await connected(within: .seconds(30)) {
            "drive_add 0 file=nbd:unix:\(nbdSocket),file.reconnect-delay=300,format=raw,if=none,id=\(volume)"
        }
        guard attached else {
            let table = (try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8)) ?? ""
            let lines = table.split(separator: "\n").filter { $0.contains(volume) }
            let log = (try? String(contentsOfFile: paths(id).qemuLog, encoding: .utf8)) ?? ""
            throw Failure(
                "QEMU of \(id) did not reconnect to \(volume): drive_del said '\(deleted)', QEMU last said '\(last)'; "
                    + "sockets: \(lines); QEMU's log: " + log.suffix(1500))
        }
    }

    /// Accepted (connected) sockets bound to `path` in this namespace's `/proc/net/unix`.
    public static func acceptedConnections(on path: String) -> Int {
        guard let table = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return 0 }
        return table.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count >= 8 && fields[7] == path && fields[5] == "03" && fields[3] != "00010000"
        }.count
    }

    /// `ip link set tap<eni> up|down` in the namespace.
    public func setTap(_ id: String, up: Bool) async throws {
        try await Self.tool("ip", ["-n", namespace, "link", "set", try spec(id).tapName, up ? "up" : "down"])
    }

    /// Plugs the tap into `br-int` with Hive's external ids, and waits for ovs-vswitchd to open it. Spinifex's
    /// layout (network/host/imds_patch.go): the tap on `br-imds`, the patch pair `imp-<h>`/`imi-<h>` with the OVN
    /// binding on `imi-<h>` (`h` = FNV-32a of the ENI id) on `br-int`.
    public func addPort(_ id: String) async throws {
        let spec = try spec(id)
        if layout == .spinifex {
            let hash = OVSDBFixture.fnv32aHex(spec.eniID)
            try await vsctl(["--may-exist", "add-port", "br-imds", spec.tapName])
            try await vsctl([
                "--may-exist", "add-port", "br-imds", "imp-\(hash)", "--", "set", "Interface", "imp-\(hash)",
                "type=patch", "options:peer=imi-\(hash)",
            ])
            try await vsctl([
                "--may-exist", "add-port", "br-int", "imi-\(hash)", "--", "set", "Interface", "imi-\(hash)",
                "type=patch", "options:peer=imp-\(hash)", "external_ids:iface-id=port-\(spec.eniID)",
                "external_ids:attached-mac=\(spec.mac)",
            ])
        } else {
            try await vsctl([
                "--may-exist", "add-port", "br-int", spec.tapName, "--", "set", "Interface", spec.tapName,
                "external_ids:iface-id=port-\(spec.eniID)", "external_ids:attached-mac=\(spec.mac)",
            ])
        }
        let open = await eventually(timeout: .seconds(20), poll: .milliseconds(50)) {
            let ofport = (try? await self.vsctl(["get", "Interface", spec.tapName, "ofport"])) ?? ""
            return (Int(ofport.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0
        }
        guard open else { throw Failure("ovs-vswitchd did not open \(spec.tapName)") }
    }

    /// Deletes the tap's port from its bridge (`br-int`; `br-imds` in Spinifex's layout).
    public func deletePort(_ id: String) async throws {
        try await vsctl(["--if-exists", "del-port", layout == .spinifex ? "br-imds" : "br-int", try spec(id).tapName])
    }

    private func spec(_ id: String) throws -> HiveInstanceSpec {
        guard let spec = lock.withLock({ specs[id] }) else { throw Failure("no instance \(id)") }
        return spec
    }

    // MARK: Inventory and heartbeat

    /// Hive's VM record of an instance (DESIGN.md section 5).
    public func vmRecord(_ spec: HiveInstanceSpec) -> JSONValue {
        let paths = paths(spec.id)
        let launched = lock.withLock { launchTimes[spec.id] } ?? Date()
        let volumes: [JSONValue] = spec.volumes.enumerated().map { index, volume in
            [
                "Name": .string(volume), "NBDURI": .string("nbd:unix:\(paths.nbdSocket(volume))"),
                "DeviceName": .string("/dev/vd" + String(UnicodeScalar(UInt8(97 + index % 26)))),
                "Boot": .bool(index == 0),
            ]
        }
        return [
            "id": .string(spec.id), "status": "running",
            "config": [
                "qmp_socket": .string(paths.qmpSocket), "telemetry_qmp_socket": .string(paths.telemetryQMPSocket),
                "pid_file": .string(paths.pidFile), "serial_socket": .string(paths.serialSocket),
                "console_log_path": .string(paths.consoleLog), "guest_agent_socket": .string(paths.guestAgentSocket),
            ],
            "ebs_requests": ["Requests": .array(volumes)],
            "eni_id": .string(spec.eniID), "eni_mac": .string(spec.mac),
            "instance": [
                "InstanceId": .string(spec.id), "LaunchTime": .string(Self.rfc3339(launched)),
                "Placement": ["AvailabilityZone": .string(availabilityZone)],
            ],
        ]
    }

    /// The `{"vms": {...}}` document of every launched instance.
    public func inventoryDocument() throws -> Data {
        let vms = Dictionary(instances.map { ($0.id, vmRecord($0)) }, uniquingKeysWith: { _, last in last })
        return Data(JSONValue.object(["vms": .object(vms)]).jsonBytes)
    }

    /// Spinifex's VM record of an instance (``SpinifexVM``: spinifex/vm/vm.go at ddf22cac).
    public func spinifexVM(_ spec: HiveInstanceSpec) -> SpinifexVM {
        let paths = paths(spec.id)
        let launched = lock.withLock { launchTimes[spec.id] } ?? Date()
        var vm = SpinifexVM(
            id: spec.id, accountID: "123456789012", runtimeDirectory: runtime.path,
            volumes: spec.volumes.enumerated().map { index, volume in
                SpinifexVM.EBSRequest(
                    name: volume, boot: index == 0, nbdURI: "nbd:unix:\(paths.nbdSocket(volume))",
                    deviceName: "/dev/vd" + String(UnicodeScalar(UInt8(97 + index % 26))))
            }, eniID: spec.eniID, eniMAC: spec.mac)
        vm.instance = SpinifexVM.AWSInstance(
            instanceID: spec.id, launchTime: Self.rfc3339(launched), availabilityZone: availabilityZone)
        return vm
    }

    /// Writes the inventory to ``inventoryFile`` (atomically) and, with NATS, to `<prefix>-instance-state`
    /// `node.<node>` (in Spinifex's layout through its daemon stand-in, which writes the records as Spinifex does).
    public func publishInventory() async throws {
        if layout == .spinifex {
            let vms = instances.map(spinifexVM)
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let document = try encoder.encode(["vms": Dictionary(uniqueKeysWithValues: vms.map { ($0.id, $0) })])
            try document.write(to: URL(fileURLWithPath: inventoryFile), options: .atomic)
            if let spinifexDaemon {
                for vm in vms { try await spinifexDaemon.run(vm) }
            } else if let instanceState {
                _ = try await instanceState.put("node.\(node)", value: Array(document))
            }
            return
        }
        let document = try inventoryDocument()
        try document.write(to: URL(fileURLWithPath: inventoryFile), options: .atomic)
        if let instanceState { _ = try await instanceState.put("node.\(node)", value: Array(document)) }
    }

    /// Writes `heartbeat.<node>` now and then every second until ``stopHeartbeat()``.
    public func startHeartbeat() async throws {
        guard let clusterState else { throw Failure("no NATS: no heartbeat") }
        let node = node
        let spinifex = layout == .spinifex
        let count = instances.count
        let record: @Sendable () -> [UInt8] = {
            guard spinifex else { return Array(#"{"node":"\#(node)","timestamp":"\#(Self.rfc3339(Date()))"}"#.utf8) }
            // spinifex/daemon/jetstream.go Heartbeat (ddf22cac): every field Spinifex writes.
            return Array(
                (#"{"node":"\#(node)","epoch":1,"timestamp":"\#(Self.rfc3339(Date()))","#
                    + #""services":["nats","viperblock","daemon","awsgw"],"vm_count":\#(count),"#
                    + #""allocated_vcpu":\#(count),"available_vcpu":\#(8 - count),"allocated_mem_gb":0.0625,"#
                    + #""available_mem_gb":15.5,"reserved_vcpu":1,"reserved_mem_gb":2}"#).utf8)
        }
        _ = try await clusterState.put("heartbeat.\(node)", value: record())
        let task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { break }
                _ = try? await clusterState.put("heartbeat.\(node)", value: record())
            }
        }
        lock.withLock {
            heartbeat?.cancel()
            heartbeat = task
        }
    }

    /// Stops writing the heartbeat (Hive on this node went silent).
    public func stopHeartbeat() async {
        let task = lock.withLock { () -> Task<Void, Never>? in
            defer { heartbeat = nil }
            return heartbeat
        }
        task?.cancel()
        await task?.value
    }

    static func rfc3339(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    // MARK: Stop

    /// Stops every process by its pid (QEMU, qemu-ga, nbdkit, ovs-vswitchd, ovsdb-server), the heartbeat, deletes the
    /// namespace and the runtime folder. Idempotent; blocking (for `defer`).
    public func stop() {
        let (processes, task, first) = lock.withLock { () -> ([ChildProcess], Task<Void, Never>?, Bool) in
            defer {
                qemus = [:]
                agents = [:]
                nbdkits = [:]
                ovsdb = nil
                vswitchd = nil
                heartbeat = nil
                stopped = true
            }
            let all = Array(qemus.values) + Array(agents.values) + Array(nbdkits.values) + [vswitchd, ovsdb]
                .compactMap { $0 }
            return (all, heartbeat, !stopped)
        }
        spinifexDaemon?.stop()
        collector?.stop()
        ebsProvider?.stop()
        task?.cancel()
        for process in processes { process.stop() }
        guard first else { return }
        nats?.close()
        _ = try? OVSDBFixture.run("ip", ["netns", "del", namespace])
        runtime.remove()
    }
}

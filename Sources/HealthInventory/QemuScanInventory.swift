import Foundation
import HealthCore
import HealthIO
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `qemu-scan` inventory source: the running `qemu-system-*` processes found in `/proc`, read from their
/// command lines (see ``QemuCommandLine``).
///
/// It needs nothing from Hive, so it is the default. Every process found is `running`; the `qemu.process` probe
/// judges stopped, zombie or stuck processes. Processes that vanish or cannot be read while scanning are left out
/// silently (a process exiting mid-scan is normal).
public struct QemuScanInventory: InventorySource {
    /// Command lines longer than this are not read (QEMU's are a few KiB).
    public static let maximumCommandLine = 1024 * 1024

    public let procRoot: String
    public let node: NodeInfo
    public let layout: RuntimeLayout
    private let logger: Logger

    public init(procRoot: String = "/proc", node: NodeInfo, layout: RuntimeLayout, logger: Logger) {
        self.procRoot = procRoot
        self.node = node
        self.layout = layout
        self.logger = logger
    }

    public func snapshot() async throws -> InventorySnapshot {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: procRoot)
        } catch {
            throw InventoryError(.unreadable, "cannot list \(procRoot): \(error.localizedDescription)")
        }
        let pids = entries.compactMap { Int32($0) }.filter { $0 > 0 }.sorted()
        let bootTime = self.bootTime()
        let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        var snapshot = InventorySnapshot()
        var seen: [String: Int32] = [:]
        for pid in pids {
            guard let arguments = commandLine(of: pid), let executable = arguments.first,
                Self.isQemu(executable)
            else { continue }
            var instance = Self.instance(
                pid: pid, arguments: Array(arguments.dropFirst()), node: node, layout: layout)
            if let bootTime, let ticks = startTicks(of: pid) {
                instance.launchTime = bootTime.addingTimeInterval(Double(ticks) / ticksPerSecond)
            }
            if let other = seen[instance.id] {
                snapshot.skipped.append(
                    SkippedRecord(id: "pid \(pid)", reason: "instance \(instance.id) is also run by pid \(other)"))
                continue
            }
            seen[instance.id] = pid
            snapshot.instances.append(instance)
        }
        snapshot.instances.sort { $0.id < $1.id }
        for record in snapshot.skipped {
            logger.warning(
                "qemu process skipped", metadata: ["record": "\(record.id ?? "-")", "reason": "\(record.reason)"])
        }
        logger.debug("qemu scan", metadata: ["root": "\(procRoot)", "instances": "\(snapshot.instances.count)"])
        return snapshot
    }

    /// argv[0]'s base name starts with `qemu-system-`.
    static func isQemu(_ executable: String) -> Bool {
        let base = executable.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        return base.hasPrefix("qemu-system-")
    }

    /// The instance a QEMU process runs, from its argv (without argv[0]).
    ///
    /// The id is `-name` when it is an instance id, else the `<id>` of a `qmp-<id>.sock` monitor or `<id>.pid`
    /// pid file, else `qemu-<pid>`; paths the command line does not give default from the runtime layout.
    public static func instance(
        pid: Int32, arguments: [String], node: NodeInfo, layout: RuntimeLayout
    ) -> InstanceInfo {
        let command = QemuCommandLine.parse(arguments)
        let id = instanceID(command, pid: pid)
        var instance = InstanceInfo(
            id: id, state: .running, node: node.name, availabilityZone: node.availabilityZone)
        instance.qmpSocket = command.qmpSockets.first ?? layout.qmpSocket(for: id)
        instance.telemetryQMPSocket = command.qmpSockets.dropFirst().first
        instance.guestAgentSocket = command.guestAgentSocket ?? layout.guestAgentSocket(for: id)
        instance.hasGuestAgent =
            command.guestAgentSocket != nil || FileManager.default.fileExists(atPath: instance.guestAgentSocket)
        instance.pidFile = command.pidFile ?? layout.pidFile(for: id)
        instance.serialSocket = command.serialSocket ?? layout.serialSocket(for: id)
        instance.consoleLogPath = command.consoleLogPath ?? layout.consoleLog(for: id)
        instance.tapName = command.tapNames.first
        var volumeIDs: Set<String> = []
        for (index, drive) in command.drives.enumerated() {
            var volumeID = volumeID(of: drive) ?? "\(id)-\(drive.id ?? "drive\(index)")"
            if !volumeIDs.insert(volumeID).inserted {
                volumeID = "\(id)-drive\(index)"
                volumeIDs.insert(volumeID)
            }
            instance.volumes.append(VolumeInfo(id: volumeID, nbdURI: drive.uri, deviceName: "", boot: drive.boot))
        }
        return instance
    }

    static func instanceID(_ command: QemuCommandLine, pid: Int32) -> String {
        if let name = command.name, InstanceID.isValid(name) { return name }
        for socket in command.qmpSockets {
            let base = baseName(socket)
            if base.hasPrefix("qmp-"), base.hasSuffix(".sock") {
                let candidate = String(base.dropFirst("qmp-".count).dropLast(".sock".count))
                if InstanceID.isValid(candidate) { return candidate }
            }
        }
        if let pidFile = command.pidFile {
            let base = baseName(pidFile)
            if base.hasSuffix(".pid"), InstanceID.isValid(String(base.dropLast(".pid".count))) {
                return String(base.dropLast(".pid".count))
            }
        }
        return "qemu-\(pid)"
    }

    /// A `vol-<alnum>` token in the socket file name, the export name or the drive id (`nbd-vol-...`).
    static func volumeID(of drive: QemuCommandLine.NBDDrive) -> String? {
        for candidate in [drive.socketPath.map(baseName), drive.export, drive.id].compactMap(\.self) {
            guard let range = candidate.range(of: "vol-") else { continue }
            let suffix = candidate[range.upperBound...].prefix { $0.isASCII && ($0.isLetter || $0.isNumber) }
            if !suffix.isEmpty { return "vol-" + suffix }
        }
        return nil
    }

    private static func baseName(_ path: String) -> String {
        String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
    }

    private func commandLine(of pid: Int32) -> [String]? {
        guard let bytes = try? BoundedFile.read("\(procRoot)/\(pid)/cmdline", limit: Self.maximumCommandLine),
            !bytes.isEmpty
        else { return nil }
        var arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        if arguments.last == "" { arguments.removeLast() }
        return arguments
    }

    /// Field 22 of `/proc/<pid>/stat`: start time in clock ticks after boot.
    private func startTicks(of pid: Int32) -> UInt64? {
        guard let bytes = try? BoundedFile.read("\(procRoot)/\(pid)/stat", limit: 64 * 1024) else { return nil }
        return Self.startTicks(stat: String(decoding: bytes, as: UTF8.self))
    }

    static func startTicks(stat: String) -> UInt64? {
        // The command name (field 2) is in parentheses and may contain spaces and ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// `btime` of `/proc/stat`: boot time in seconds since the epoch.
    private func bootTime() -> Date? {
        guard let bytes = try? BoundedFile.read("\(procRoot)/stat", limit: 4 * 1024 * 1024) else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("btime ") {
            return TimeInterval(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
                .map(Date.init(timeIntervalSince1970:))
        }
        return nil
    }
}

import Foundation
import HealthCore
import HealthQEMU
import ProbeKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `console.log`: reads the instance's serial console log from where the previous run stopped (a truncated or
/// rotated file is read from its start) and looks for a kernel panic, a file system the kernel remounted read-only
/// (what a host sees without writing to the guest: the kernel says so on the console), and for a boot that never
/// reaches its login or cloud-init marker within a grace period after launch. Patterns are plain substrings,
/// configurable.
public struct ConsoleLogProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "console.log", category: .instance, targets: [.instance],
        parameters: [
            ParameterSpec(
                "path", .string, default: .string("{{instance.console_log}}"),
                doc: "The serial console log; a relative path is taken under the runtime directory."),
            ParameterSpec(
                "panic_patterns", .stringList,
                default: .stringList(["Kernel panic - not syncing", "end Kernel panic"]),
                doc: "A line containing any of these is a kernel panic: failed until the next boot marker."),
            ParameterSpec(
                "read_only_patterns", .stringList,
                default: .stringList(["Remounting filesystem read-only", "forced readonly"]),
                doc: "A line containing any of these is a file system the kernel made read-only (ext4 "
                    + "errors=remount-ro, btrfs): failed until the next boot marker or until that device is mounted "
                    + "again. Empty disables."),
            ParameterSpec(
                "remount_patterns", .stringList, default: .stringList(["mounted filesystem"]),
                doc: "A later line with one of these and the read-only line's device (`(vda)`) clears the read-only "
                    + "failure: the file system was mounted again (needs the guest's console log level at info)."),
            ParameterSpec(
                "boot_markers", .stringList,
                default: .stringList([" login: ", "Cloud-init v.", "reached target Multi-User System"]),
                doc: "A line containing any of these means the guest booted; empty disables the stuck-boot check."),
            ParameterSpec(
                "boot_grace", .duration, default: .duration(.seconds(600)),
                doc: "Failed when no boot marker appeared this long after launch (or after the log restarted)."),
            ParameterSpec(
                "serial_socket", .string, default: .string("{{instance.serial_socket}}"),
                doc: "The serial console chardev socket: failed when it refuses connections; empty skips the check. "
                    + "A missing socket is only noted."),
            ParameterSpec(
                "vnc_socket", .string, default: .string(""),
                doc: "The VM's VNC unix socket (-vnc unix:PATH), when it has one: failed when it refuses connections; "
                    + "empty skips the check."),
            ParameterSpec(
                "max_read_bytes", .integer, default: .integer(1 << 20), range: 4096...67_108_864,
                doc: "Read at most this much per run; a log growing faster is skipped ahead to its newest bytes."),
        ],
        summary: "serial console log tail: kernel panic, read-only file system, stuck boot (patterns configurable)")

    /// What is remembered of one instance's log between runs.
    struct Progress: Sendable {
        var device: UInt64
        var inode: UInt64
        var offset: Int64
        var partial: [UInt8]
        var booted: Bool
        var bootStart: Date
        var panicLine: String?
        var skipped: Int64
        /// The kernel's read-only line and its device (`vda` of `EXT4-fs (vda): ...`), until mounted again.
        var readOnlyLine: String? = nil
        var readOnlyDevice: String? = nil
    }

    public let environment: ProbeEnvironment
    private let memory = PerCheckMemory<Progress>()
    private let wallClock: @Sendable () -> Date

    public init(environment: ProbeEnvironment) {
        self.init(environment: environment, wallClock: { Date() })
    }

    /// Creates the probe with a wall clock of its own, so tests can move past the boot grace period.
    public init(environment: ProbeEnvironment, wallClock: @escaping @Sendable () -> Date) {
        self.environment = environment
        self.wallClock = wallClock
    }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (
        pathParameter: String, panicPatterns: [String], readOnlyPatterns: [String], remountPatterns: [String],
        bootMarkers: [String], bootGrace: Duration, maxRead: Int, serialSocket: String, vncSocket: String
    )

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (pathParameter, panicPatterns, readOnlyPatterns, remountPatterns, bootMarkers, bootGrace, maxRead, serialSocket, vncSocket) = settings
        guard !pathParameter.trimmed.isEmpty else {
            return .unknown("no console log known for instance \(request.target.id)")
        }
        let path = pathParameter.hasPrefix("/") ? pathParameter : environment.runtimeDirectory + "/" + pathParameter
        let now = wallClock()
        let launch = request.target.instance?.launchTime

        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { return .unknown("no console log at \(path) yet") }
            return .unknown("\(path): \(String(cString: strerror(code)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .unknown("\(path) is not a regular file") }
        let device = UInt64(info.st_dev)
        let inode = UInt64(info.st_ino)
        let size = Int64(info.st_size)

        var progress =
            memory.update(request.stateKey, now: .now) { $0 }
            ?? Progress(
                device: device, inode: inode, offset: 0, partial: [], booted: false,
                bootStart: launch ?? now, panicLine: nil, skipped: 0)
        var restarted = false
        if progress.device != device || progress.inode != inode || size < progress.offset {
            // Rotated or truncated: a new log, most likely a new boot.
            progress = Progress(
                device: device, inode: inode, offset: 0, partial: [], booted: false,
                bootStart: progress.offset == 0 ? progress.bootStart : now, panicLine: nil, skipped: 0)
            restarted = true
        }
        if size - progress.offset > Int64(maxRead) {
            progress.skipped += size - Int64(maxRead) - progress.offset
            progress.offset = size - Int64(maxRead)
            progress.partial = []
        }
        let bytes: [UInt8]
        switch readRange(path, from: progress.offset, count: Int(size - progress.offset)) {
        case .success(let data): bytes = data
        case .failure(let problem): return .unknown(problem.message)
        }
        progress.offset += Int64(bytes.count)
        var text = progress.partial + bytes
        if let lastNewline = text.lastIndex(of: UInt8(ascii: "\n")) {
            progress.partial = Array(text[(lastNewline + 1)...].prefix(65536))
            text = Array(text[...lastNewline])
        } else {
            progress.partial = Array(text.prefix(65536))
            text = []
        }
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let lineText = String(decoding: line.prefix(4096), as: UTF8.self)
            if bootMarkers.contains(where: { lineText.contains($0) }) {
                progress.booted = true
                progress.panicLine = nil
                progress.readOnlyLine = nil
            }
            if readOnlyPatterns.contains(where: { lineText.contains($0) }) {
                progress.readOnlyLine = String(lineText.trimmed.prefix(200))
                progress.readOnlyDevice = Self.device(in: lineText)
            } else if progress.readOnlyLine != nil, remountPatterns.contains(where: { lineText.contains($0) }),
                progress.readOnlyDevice.map({ lineText.contains("(\($0))") }) ?? true
            {
                progress.readOnlyLine = nil
            }
            if panicPatterns.contains(where: { lineText.contains($0) }) {
                progress.panicLine = String(lineText.trimmed.prefix(200))
            }
        }
        let saved = progress
        memory.update(request.stateKey, now: .now) { $0 = saved }

        let values: [String: Double] = [
            "offset_bytes": Double(progress.offset), "skipped_bytes": Double(progress.skipped),
        ]
        for (what, socket) in [("serial console", serialSocket), ("VNC", vncSocket)] where !socket.isEmpty {
            let socketPath = socket.hasPrefix("/") ? socket : environment.runtimeDirectory + "/" + socket
            if let problem = SocketReachability.check(path: socketPath), problem.code != .missing {
                if problem.code == .refused {
                    return .failed("\(what) socket \(socketPath) refuses connections", values: values)
                }
                request.logger.debug("\(what) socket", metadata: ["problem": "\(problem)"])
            }
        }
        if let panic = progress.panicLine {
            return .failed("kernel panic on the serial console: \(panic)", values: values)
        }
        if let readOnly = progress.readOnlyLine {
            return .failed("file system remounted read-only (serial console): \(readOnly)", values: values)
        }
        let restartText = restarted ? " (log restarted)" : ""
        if !bootMarkers.isEmpty, !progress.booted {
            let waited = now.timeIntervalSince(progress.bootStart)
            if waited > bootGrace.seconds {
                return .failed(
                    "stuck boot: no boot marker on the serial console \(Int(waited)) s after launch "
                        + "(grace \(HealthDuration.format(bootGrace)))\(restartText)", values: values)
            }
            return .passed("booting: no boot marker yet, \(Int(waited)) s after launch\(restartText)", values: values)
        }
        return .passed("console log clean\(restartText)", values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let serialSocket = (try parameters.string("serial_socket") ?? "").trimmed
        let vncSocket = (try parameters.string("vnc_socket") ?? "").trimmed
        let pathParameter = try parameters.string("path") ?? ""
        let panicPatterns = (try parameters.stringList("panic_patterns") ?? []).filter { !$0.isEmpty }
        let readOnlyPatterns = (try parameters.stringList("read_only_patterns") ?? []).filter { !$0.isEmpty }
        let remountPatterns = (try parameters.stringList("remount_patterns") ?? []).filter { !$0.isEmpty }
        let bootMarkers = (try parameters.stringList("boot_markers") ?? []).filter { !$0.isEmpty }
        let bootGrace = try parameters.duration("boot_grace") ?? .seconds(600)
        let maxRead = try parameters.integer("max_read_bytes") ?? (1 << 20)
        return (pathParameter, panicPatterns, readOnlyPatterns, remountPatterns, bootMarkers, bootGrace, maxRead, serialSocket, vncSocket)
    }

    /// The device a kernel file system message names: `vda` of `EXT4-fs (vda): ...` or `BTRFS error (device vdb)`.
    static func device(in line: String) -> String? {
        guard let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") else { return nil }
        let inside = line[line.index(after: open)..<close]
        let name = inside.hasPrefix("device ") ? inside.dropFirst("device ".count) : inside
        return name.isEmpty || name.count > 64 ? nil : String(name)
    }

    private func readRange(_ path: String, from offset: Int64, count: Int) -> Result<[UInt8], ReadProblem> {
        guard count > 0 else { return .success([]) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(ReadProblem("\(path): \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                return .failure(ReadProblem("\(path): \(String(cString: strerror(errno)))"))
            }
            if got == 0 { break }
            filled += got
        }
        return .success(Array(buffer.prefix(filled)))
    }

    private struct ReadProblem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}

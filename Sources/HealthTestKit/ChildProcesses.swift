import Foundation
import HealthIO

/// A short temporary folder (unix socket paths must stay under 108 bytes), removed by ``remove()``.
public struct ShortTemporaryFolder: Sendable {
    public let path: String

    public init(prefix: String = "hh") throws {
        let template = "/tmp/\(prefix)-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let created = mkdtemp(&bytes) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: template])
        }
        path = String(cString: created)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A child process a test started: stopped by its pid (SIGKILL) in ``stop()``, never by name.
public final class ChildProcess: Sendable {
    private let process: Process
    public let pid: Int32
    public let executable: String

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments`; output goes to `log` when given.
    public init(_ executable: String, _ arguments: [String], log: String? = nil) throws {
        let resolved = executable.hasPrefix("/") ? executable : (Self.which(executable) ?? executable)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: resolved)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = FileHandle(forWritingAtPath: log)
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        self.process = process
        self.pid = process.processIdentifier
        self.executable = resolved
    }

    /// The full path of `name` in PATH (and the sbin folders), or `name` itself when it is an absolute path; nil when
    /// absent.
    public static func which(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/local/sbin"]
        return folders.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` to this process only.
    public func signal(_ signal: Int32) { if process.isRunning { kill(pid, signal) } }

    /// SIGKILL and reap.
    public func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Waits for `path` to appear (a socket created by a child), for at most `timeout`.
public func waitForFile(_ path: String, timeout: Duration = .seconds(20)) async -> Bool {
    await eventually(timeout: timeout, poll: .milliseconds(10)) { FileManager.default.fileExists(atPath: path) }
}

/// Waits until something listens on the unix socket `path` (a child binds before it listens), for at most
/// `timeout`. Connects and closes at once.
public func waitForListener(_ path: String, timeout: Duration = .seconds(20)) async -> Bool {
    // A listener seen in this namespace's /proc/net/unix is not connected to: a QEMU monitor serves one client, and
    // a probe's connection still being closed when the test's arrives made QEMU reset the test's. A socket made in
    // another network namespace is not listed there: for it, a connection that is closed at once.
    await eventually(timeout: timeout, poll: .milliseconds(10)) {
        listensHere(path) || StreamSocket.probe(unixPath: path) == nil
    }
}

/// Whether a listening unix socket bound to `path` is in this network namespace's `/proc/net/unix`.
func listensHere(_ path: String) -> Bool {
    guard let table = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return false }
    return table.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count >= 8 && fields[7] == path && fields[3] == "00010000"
    }
}

/// Real QEMU and guest agent processes for integration tests.
public enum QEMUFixtures {
    /// Commands the probes use; every other guest agent command is blocked (qemu-ga acts on the test machine).
    public static let allowedAgentCommands: Set<String> = [
        "guest-sync", "guest-sync-delimited", "guest-ping", "guest-info", "guest-get-fsinfo", "guest-fsfreeze-status",
    ]

    /// `qemu-system-x86_64 -machine none` with a QMP socket at `qmp`; returns when the socket exists.
    public static func startQEMU(qmp: String, extra: [String] = [], log: String? = nil) async throws -> ChildProcess {
        let process = try ChildProcess(
            "qemu-system-x86_64",
            ["-machine", "none", "-nodefaults", "-display", "none", "-qmp", "unix:\(qmp),server=on,wait=off"] + extra,
            log: log)
        guard await waitForListener(qmp) else {
            process.stop()
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: qmp])
        }
        return process
    }

    /// The guest agent's full command list (`qemu-ga --block-rpcs=help`).
    public static func agentCommands() throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ChildProcess.which("qemu-ga") ?? "/usr/sbin/qemu-ga")
        process.arguments = ["--block-rpcs=help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).map(String.init)
            .filter { $0.hasPrefix("guest-") }
    }

    /// `qemu-ga --method=unix-listen --path=<socket>` with every command but ``allowedAgentCommands`` blocked.
    public static func startGuestAgent(socket: String, stateDirectory: String, log: String? = nil) async throws
        -> ChildProcess
    {
        let blocked = try agentCommands().filter { !allowedAgentCommands.contains($0) }
        let process = try ChildProcess(
            "qemu-ga",
            [
                "--method=unix-listen", "--path=\(socket)", "--statedir=\(stateDirectory)",
                "--pidfile=\(stateDirectory)/qemu-ga.pid", "--block-rpcs=\(blocked.joined(separator: ","))",
            ], log: log)
        guard await waitForListener(socket) else {
            process.stop()
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: socket])
        }
        return process
    }
}

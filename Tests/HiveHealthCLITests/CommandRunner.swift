import Foundation
import HealthTestKit

/// Runs the built `hive-health` binary and captures what it prints.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum HiveHealthBinary {
    /// The `hive-health` executable of this build (`swift test` builds it next to the test bundle).
    static var path: String { HiveHealthDaemonProcess.executable }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Runs to completion (at most `timeout`, then the process is killed and the run fails); the wait happens on a
    /// thread of its own, not on the cooperative pool the other tests need.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        try await ChildCommand.run([path] + arguments, environment: environment, timeout: timeout)
    }

    /// Starts the binary in the background; the caller stops it with ``stop(_:)``.
    static func start(_ arguments: [String], environment: [String: String] = [:], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// SIGTERM, then waits (SIGKILL after `grace`) on a thread of its own. Returns the exit status.
    @discardableResult
    static func stop(_ process: Process, grace: Duration = .seconds(15)) async -> Int32 {
        let box = UncheckedProcess(process: process)
        return await offCooperativePool { stopBlocking(box.process, grace: grace) }
    }

    /// ``stop(_:grace:)`` for `defer` blocks (the process has usually exited by then).
    @discardableResult
    static func stopBlocking(_ process: Process, grace: Duration = .seconds(15)) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: grace)
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Any program run to completion, its output captured.
enum ChildCommand {
    /// Runs `argv` (at most `timeout`, then it is killed and the run fails) with this process's environment plus
    /// `environment` (or `environment` alone with `inherit: false`); the wait happens on a thread of its own.
    static func run(
        _ argv: [String], environment: [String: String] = [:], inherit: Bool = true, timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        try await offCooperativePool {
            try runBlocking(argv, environment: environment, inherit: inherit, timeout: timeout)
        }
    }

    private static func runBlocking(
        _ argv: [String], environment: [String: String], inherit: Bool, timeout: Duration
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        var env = inherit ? ProcessInfo.processInfo.environment : [:]
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outFile = FileManager.default.temporaryDirectory.appending(path: "hh-out-\(UUID().uuidString)")
        let errFile = FileManager.default.temporaryDirectory.appending(path: "hh-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outFile)
            try? FileManager.default.removeItem(at: errFile)
        }
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CommandTimeout(arguments: argv)
        }
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }
}

struct CommandTimeout: Error, CustomStringConvertible {
    var arguments: [String]
    var description: String { "\(arguments.joined(separator: " ")) did not finish in time" }
}

/// A temporary folder removed at the end of the test.
struct TemporaryFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appending(path: "hive-health-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    var path: String { url.path }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

func jsonObject(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}

/// `Process` is not `Sendable`; it is handed to one thread that only waits on it.
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
}

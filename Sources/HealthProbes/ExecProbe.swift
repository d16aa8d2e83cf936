import HealthCore
import Logging
import ProbeKit
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// `exec`: runs a Nagios-compatible plugin (argv, no shell) and reads its exit status and output.
///
/// Exit 0 is passed, 1 (warning) and 2 (critical) failed, 3 unknown; any other status or death by a signal is
/// unknown. The first output line's text is the message and its perfdata become the observation's values.
///
/// - Important: The plugin runs in a process group of its own. When the run is cancelled (the scheduler's timeout)
///   the whole group gets SIGTERM, then SIGKILL half a second later, so no plugin outlives its check.
public struct ExecProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "exec", category: .instance, targets: [.node, .instance, .volume],
        parameters: [
            ParameterSpec(
                "command", .stringList, required: true,
                doc: "The plugin's argv (no shell); argv[0] is looked up in PATH unless it is an absolute path."),
            ParameterSpec(
                "env", .stringMap,
                doc: "Variables added to the plugin's minimal environment (PATH, LANG=C); may override PATH."),
            ParameterSpec(
                "max_output", .integer, default: .integer(65536), range: 1...16_777_216,
                doc: "Bytes of standard output kept; the rest is read and dropped and the message says so."),
        ],
        summary: "a Nagios-compatible plugin: exit 0 ok, 1/2 failed, 3 unknown; perfdata kept as values")

    /// The environment every plugin starts from.
    static let baseEnvironment: [String: String] = [
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C",
    ]

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// The first bytes of a stream, and how many there were in all.
    private struct Captured: Sendable {
        var bytes: [UInt8] = []
        var total = 0

        static func collect(_ stream: SubprocessOutputSequence, limit: Int) async throws -> Captured {
            var captured = Captured()
            for try await buffer in stream {
                captured.total += buffer.count
                let room = limit - captured.bytes.count
                if room > 0 { buffer.withUnsafeBytes { captured.bytes.append(contentsOf: $0.prefix(room)) } }
            }
            return captured
        }
    }

    /// How much of standard error is kept: its first line stands in for a missing standard output.
    static let errorLimit = 4096

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (command: [String], extraEnvironment: [String: String], maxOutput: Int)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (command, extraEnvironment, maxOutput) = settings
        guard let program = command.first, !program.isEmpty else {
            return .unknown("parameter 'command': empty argv")
        }
        let executable: Executable
        if program.hasPrefix("/") {
            executable = .path(FilePath(program))
        } else if program.contains("/") {
            return .unknown("parameter 'command': '\(program)' must be an absolute path or a name looked up in PATH")
        } else {
            executable = .name(program)
        }
        var variables: [Environment.Key: String] = [:]
        for (key, value) in Self.baseEnvironment.merging(extraEnvironment, uniquingKeysWith: { $1 }) {
            guard !key.isEmpty, !key.contains("="), !key.contains("\0"), !value.contains("\0") else {
                return .unknown("parameter 'env': invalid variable name '\(key)'")
            }
            variables[Environment.Key(stringLiteral: key)] = value
        }
        guard !command.contains(where: { $0.contains("\0") }) else {
            return .unknown("parameter 'command': an argument contains a NUL byte")
        }

        var options = PlatformOptions()
        // A group of its own, so cancellation reaches the plugin's children too.
        options.processGroupID = 0
        options.teardownSequence = [
            .gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .milliseconds(500))
        ]
        let configuration = Configuration(
            executable: executable, arguments: Arguments(Array(command.dropFirst())),
            environment: .custom(variables), platformOptions: options)

        let status: TerminationStatus
        let captured: Captured
        let errors: Captured
        do {
            let result = try await run(configuration, input: .none, output: .sequence, error: .sequence) {
                execution in
                async let errors = Captured.collect(execution.standardError, limit: Self.errorLimit)
                let output = try await Captured.collect(execution.standardOutput, limit: maxOutput)
                return (output, try await errors)
            }
            status = result.terminationStatus
            (captured, errors) = result.closureResult
        } catch let error as SubprocessError where error.code == .executableNotFound {
            request.logger.debug("exec plugin not found", metadata: ["program": "\(program)"])
            return .unknown("cannot run '\(program)': not found in PATH")
        } catch {
            if Task.isCancelled { return .unknown("'\(program)' cancelled (timeout): plugin stopped") }
            return .unknown("cannot run '\(program)': \(error)")
        }
        if Task.isCancelled { return .unknown("'\(program)' cancelled (timeout): plugin stopped") }
        request.logger.debug(
            "exec plugin finished",
            metadata: [
                "check": "\(request.checkName)", "target": "\(request.target.id)", "program": "\(program)",
                "status": "\(status)", "output_bytes": "\(captured.total)",
            ])
        return Self.observation(
            program: program, status: status, captured: captured, errors: errors, maxOutput: maxOutput)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let command = try parameters.stringList("command") ?? []
        let extraEnvironment = try parameters.stringMap("env") ?? [:]
        let maxOutput = try parameters.integer("max_output") ?? 65536
        return (command, extraEnvironment, maxOutput)
    }

    private static func observation(
        program: String, status: TerminationStatus, captured: Captured, errors: Captured, maxOutput: Int
    ) -> Observation {
        let output = PluginOutput(parsing: String(decoding: captured.bytes, as: UTF8.self))
        var message = output.text
        if message.isEmpty {
            let firstErrorLine = String(decoding: errors.bytes, as: UTF8.self).split(separator: "\n").first
            if let firstErrorLine, !firstErrorLine.trimmed.isEmpty { message = "stderr: " + firstErrorLine.trimmed }
        }
        let cut = captured.total > captured.bytes.count
        let exitCode: Int32
        switch status {
        case .exited(let code):
            exitCode = code
        case .signaled(let signal):
            return .unknown(
                "'\(program)' killed by signal \(signal)" + (message.isEmpty ? "" : ": \(message)"),
                values: output.performance)
        }
        if message.isEmpty { message = "'\(program)' exited \(exitCode) with no output" }
        if cut { message += " (output cut at \(maxOutput) of \(captured.total) bytes)" }
        switch exitCode {
        case 0: return .passed(message, values: output.performance)
        case 1, 2: return .failed(message, values: output.performance)
        case 3: return .unknown(message, values: output.performance)
        default:
            return .unknown(
                "'\(program)' exited with unexpected status \(exitCode): \(message)", values: output.performance)
        }
    }
}

import ArgumentParser
import HealthDaemon

/// Exit statuses of a command's runtime failures (sysexits.h), documented in docs/operations.md. Bad arguments are
/// `ValidationError`s (usage printed, 64); a failure at run time prints its message alone and exits with one of these.
enum CommandFailure {
    /// EX_CONFIG: a hive.toml, option or catalogue the command cannot run with.
    static let configuration: Int32 = 78
    /// EX_UNAVAILABLE: a service the command needs (NATS) cannot be reached.
    static let unavailable: Int32 = 69
    /// EX_NOINPUT: nothing to read (no saved state).
    static let noInput: Int32 = 66

    /// Prints `hive-health <command>: <message>` on stderr and returns the exit to throw.
    static func exit(_ command: String, _ message: String, code: Int32) -> ExitCode {
        printError(command.isEmpty ? "hive-health: \(message)" : "hive-health \(command): \(message)")
        return ExitCode(code)
    }

    /// The exit for daemon data the command cannot reach: 78 when hive.toml configures no NATS, 69 when NATS cannot
    /// be reached.
    static func exit(_ command: String, _ failure: DaemonAccess.Failure) -> ExitCode {
        exit(command, failure.message, code: failure.code == .notConfigured ? configuration : unavailable)
    }
}

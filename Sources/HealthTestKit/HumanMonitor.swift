import HealthCore
import HealthQEMU
import Logging

/// HMP commands through a QMP socket (`human-monitor-command`), for what QMP has no command for (`qemu-io`),
/// sent with hive-health's own ``QMPConnection``.
public enum HumanMonitor {
    /// Runs `commandLine` and returns its output; throws when the monitor cannot be reached or answers an error.
    public static func run(socket: String, _ commandLine: String, timeout: Duration = .seconds(10)) async throws
        -> String
    {
        let connection = try await QMPConnection.connect(
            path: socket, timeout: timeout, logger: Logger(label: "hive-health.test.hmp"))
        defer { connection.close() }
        let output = try await connection.execute(
            "human-monitor-command", arguments: ["command-line": .string(commandLine)], timeout: timeout)
        return output.string ?? ""
    }
}

import HealthCore
import HealthQEMU
import ProbeKit

/// `qmp.status`: QMP `query-status` of the instance's QEMU. `running` passes; `internal-error`, `guest-panicked`,
/// `shutdown`, `io-error` and `watchdog` fail; a pause by an operator or a migration is a suppression window
/// (unknown, with the reason), never a failure.
public struct QMPStatusProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "qmp.status", category: .instance, targets: [.instance],
        parameters: [QMPProbeSupport.socketParameter], timeoutClass: .qmp,
        summary: "QMP query-status: running passes, internal-error/guest-panicked/shutdown fail, paused is suppressed")

    /// Run states in which the VM does not run by design for a while: a suppression window, with its reason.
    static let suppressedStates: [String: String] = [
        "paused": "paused by an operator",
        "inmigrate": "incoming migration",
        "postmigrate": "migrated away",
        "finish-migrate": "finishing a migration",
        "prelaunch": "not started yet (prelaunch)",
        "save-vm": "saving a snapshot",
        "restore-vm": "restoring a snapshot",
        "suspended": "suspended by the guest",
        "debug": "stopped in a debugger",
        "colo": "COLO fault tolerance",
    ]

    /// Run states that are an unhealthy instance.
    static let failedStates: [String: String] = [
        "internal-error": "QEMU hit an internal error",
        "guest-panicked": "the guest kernel panicked",
        "shutdown": "the guest shut down",
        "io-error": "stopped on a disk I/O error",
        "watchdog": "stopped by the watchdog",
    ]

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    public func observe(_ request: ProbeRequest, with session: MonitorSession) async -> Observation {
        switch await session.execute(["query-status"]) {
        case .failure(let failure): return failure.observation
        case .success(let answers):
            return Self.judge(answers[0], values: ["latency_seconds": session.elapsed.seconds])
        }
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> MonitorSession {
        try MonitorSession(parameters, request: request, environment: environment)
    }

    static func judge(_ status: QMPValue, values: [String: Double]) -> Observation {
        guard let state = status["status"]?.string else {
            return .unknown("query-status answered without a status: \(String(status.json.prefix(120)))")
        }
        let running = status["running"]?.bool
        if state == "running" {
            if running == false { return .unknown("status running but running=false") }
            return .passed("running", values: values)
        }
        if let reason = failedStates[state] { return .failed("\(state): \(reason)", values: values) }
        if let reason = suppressedStates[state] {
            return .unknown("suppressed (\(reason)): status \(state)", values: values)
        }
        return .unknown("unrecognised run state '\(String(state.prefix(40)))'", values: values)
    }
}

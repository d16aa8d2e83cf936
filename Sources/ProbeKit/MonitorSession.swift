import HealthCore
import HealthQEMU
import Logging

/// One probe run's use of QEMU's monitor: the socket from the check's `socket` parameter
/// (``QMPProbeSupport/socketParameter``), the run's time budget (``QMPProbeSupport/budget(_:)``) and the
/// environment's shared connections (``HealthCore/ProbeEnvironment/qmpConnections``).
public struct MonitorSession: Sendable {
    /// The monitor's absolute path.
    public let socket: String
    private let pool: QMPConnectionPool
    private let logger: Logger
    private let budget: Duration
    private let start: ContinuousClock.Instant

    /// The session of one run, or why there is none (no socket known for the instance).
    public init(_ parameters: CheckParameters, request: ProbeRequest, environment: ProbeEnvironment)
        throws(ParameterProblem)
    {
        let path = QMPProbeSupport.socketPath(
            try parameters.string("socket"), request: request, runtimeDirectory: environment.runtimeDirectory,
            what: "QMP")
        switch path {
        case .success(let socket): self.socket = socket
        case .failure(let problem): throw problem
        }
        self.pool = environment.qmpConnections
        self.logger = request.logger
        self.budget = QMPProbeSupport.budget(request)
        self.start = ContinuousClock.now
    }

    /// The time since the session began (a probe's `latency_seconds`).
    public var elapsed: Duration { ContinuousClock.now - start }

    /// The answers to `commands`, asked in order over one connection (one short session on someone else's
    /// monitor), each within what is left of the budget; or the observation a connection problem is
    /// (``QMPProbeSupport/observation(for:socket:)``: a gone QEMU fails, anything else is unknown).
    public func execute(_ commands: [String]) async -> Result<[QMPValue], MonitorFailure> {
        do throws(QEMUError) {
            let answers = try await pool.withConnection(to: socket, timeout: budget, logger: logger) {
                connection throws(QEMUError) -> [QMPValue] in
                var answers: [QMPValue] = []
                for command in commands {
                    answers.append(
                        try await connection.execute(command, timeout: max(.milliseconds(50), budget - elapsed)))
                }
                return answers
            }
            return .success(answers)
        } catch {
            return .failure(MonitorFailure(observation: QMPProbeSupport.observation(for: error, socket: socket)))
        }
    }
}

/// A monitor that could not be used, as the observation the probe reports.
public struct MonitorFailure: Error, Sendable {
    public var observation: Observation
}

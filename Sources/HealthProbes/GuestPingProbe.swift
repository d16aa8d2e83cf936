import HealthCore
import HealthQEMU
import ProbeKit

/// `qmp.guest-ping`: the guest agent answers over its chardev socket: `guest-sync` with a fresh random id (stale
/// lines discarded until it comes back), then `guest-ping`. The agent serves one client: the socket is opened per
/// run and closed at its end.
///
/// A guest that does not answer in time, or an agent socket nobody listens on, is a failed instance (the guest is
/// not reachable). No socket at all is unknown: the instance has no agent channel. Garbage from the guest is
/// unknown.
public struct GuestPingProbe: ParameterizedProbe {
    static let socket: ProbeParameter<String> = .string(
        "socket", default: "{{instance.guest_agent_socket}}",
        doc: "The guest agent's chardev socket on the host; a relative path is taken under the runtime directory.")
    static let responseTimeout: ProbeParameter<Duration> = .duration(
        "response_timeout", default: .seconds(3),
        doc: "How long the guest has to answer guest-sync and guest-ping (within the check's timeout); no answer in "
            + "time fails the check.")

    public static let descriptor = ProbeDescriptor(
        kind: "qmp.guest-ping", category: .instance, targets: [.instance],
        parameters: [socket.spec, responseTimeout.spec],
        timeoutClass: .qmp,
        summary: "guest agent guest-sync + guest-ping over its chardev socket")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (socket: String, responseTimeout: Duration)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (socket, responseTimeout) = settings
        let budget = min(responseTimeout, QMPProbeSupport.budget(request))
        let clock = ContinuousClock()
        let start = clock.now
        let session: GuestAgentSession
        do throws(QEMUError) {
            session = try GuestAgentSession.open(path: socket, logger: request.logger)
        } catch {
            switch error.code {
            case .missing: return .unknown("no guest agent socket at \(socket): the instance has no agent channel")
            case .refused: return .failed("guest agent socket \(socket) refuses connections (QEMU has exited?)")
            default: return .unknown("guest agent \(socket): \(error.message)")
            }
        }
        defer { session.close() }
        do throws(QEMUError) {
            let stale = try await session.synchronize(timeout: budget)
            let left = max(.milliseconds(50), budget - (clock.now - start))
            _ = try await session.execute("guest-ping", timeout: left)
            var values = ["latency_seconds": (clock.now - start).seconds]
            if stale > 0 { values["stale_lines"] = Double(stale) }
            return .passed("guest agent answered guest-sync and guest-ping", values: values)
        } catch {
            switch error.code {
            case .timeout:
                return .failed(
                    "the guest agent did not answer within \(HealthDuration.format(budget)) (guest hung or agent down)")
            case .closed: return .failed("the guest agent closed the connection: \(error.message)")
            case .cancelled: return .unknown("cancelled")
            default: return .unknown("guest agent \(socket): \(error.code): \(error.message)")
            }
        }
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let socket = try QMPProbeSupport.socketPath(
            parameters.value(Self.socket), request: request, runtimeDirectory: environment.runtimeDirectory,
            what: "guest agent"
        ).get()
        let responseTimeout = try parameters.value(Self.responseTimeout)
        return (socket, responseTimeout)
    }
}

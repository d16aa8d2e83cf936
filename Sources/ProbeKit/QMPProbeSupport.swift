import HealthCore
import HealthQEMU

/// What probes of QEMU's monitor and guest agent share: the socket parameter, the time budget of a step, and how a
/// connection problem becomes an observation.
public enum QMPProbeSupport {
    /// The `socket` parameter every QMP probe takes.
    public static let socketParameter = ParameterSpec(
        "socket", .string, default: .string("{{instance.qmp_socket}}"),
        doc: "The QMP socket (Hive's telemetry monitor when it provides one, else its QMP socket); a relative path is "
            + "taken under the runtime directory.")

    /// The absolute socket path, or why there is none.
    public static func socketPath(_ value: String?, request: ProbeRequest, runtimeDirectory: String, what: String)
        -> Result<String, ParameterProblem>
    {
        guard let path = absolutePath(value, runtimeDirectory: runtimeDirectory) else {
            return .failure(
                ParameterProblem(name: "socket", reason: "no \(what) socket known for instance \(request.target.id)"))
        }
        return .success(path)
    }

    /// `value` (a socket or pid file parameter) as an absolute path: a relative one is taken under
    /// `runtimeDirectory`; nil when it is empty.
    public static func absolutePath(_ value: String?, runtimeDirectory: String) -> String? {
        let text = (value ?? "").trimmed
        guard !text.isEmpty else { return nil }
        return text.hasPrefix("/") ? text : runtimeDirectory + "/" + text
    }

    /// The time left for one step of a probe run: most of the check's timeout, at least 100 ms.
    public static func budget(_ request: ProbeRequest) -> Duration {
        max(.milliseconds(100), request.timeout * 0.9)
    }

    /// A QMP connection that could not be made or used: a gone peer is a failed instance (QEMU exited), anything
    /// else (timeout, garbage) is the probe's own trouble.
    public static func observation(for error: QEMUError, socket: String) -> Observation {
        if error.meansPeerIsGone {
            return .failed("QEMU monitor unreachable: \(error.message) (QEMU has exited?)")
        }
        return .unknown("QMP \(socket): \(error.code): \(error.message)")
    }
}

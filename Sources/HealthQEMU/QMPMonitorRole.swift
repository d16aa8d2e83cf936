/// Whose a QEMU monitor socket is. QEMU serves one client per monitor at a time, so a monitor someone else uses
/// must never be held: Spinifex's daemon holds the control monitor `qmp-<id>.sock` for the VM's whole life, and its
/// metrics collector opens the telemetry monitor `qmp-telemetry-<id>.sock` every 60 or 300 s
/// (mulgadc/spinifex at ddf22cac: spinifex/vm/vm.go `Config.QMPSocket`, `TelemetryQMPSocket`).
///
/// hive-health holds (and takes QMP events from) only a monitor of its own (by convention `qmp-health-<id>.sock`,
/// or any socket that is neither of Spinifex's); on the others it opens short sessions and closes them at once.
public enum QMPMonitorRole: Sendable, Hashable {
    /// hive-health's own: one connection kept open, events pushed.
    case own
    /// Someone else's: short sessions only, a bounded wait while its user holds it.
    case shared

    /// The role of the monitor at `path`, from its file name: `qmp-telemetry-*` and `qmp-i-*.sock` (an EC2 instance
    /// id) are Spinifex's.
    public init(path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasPrefix("qmp-telemetry-") || (name.hasPrefix("qmp-i-") && name.hasSuffix(".sock")) {
            self = .shared
        } else {
            self = .own
        }
    }
}

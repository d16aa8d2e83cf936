#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Dispatch
import HealthCore
import HealthQEMU
import ProbeKit

/// The other half of `qmp.events`' event source: for the instances whose monitor is someone else's
/// (``QMPMonitorRole/shared``, Spinifex's), QEMU's exit is seen within milliseconds without any monitor: one pidfd
/// per QEMU (from the check's `pid_file`), all polled by one loop; a pidfd that becomes readable re-runs the
/// instance's checks at once (`qmp.events` and `qemu.process` then fail).
extension QMPEventsProbe {
    /// Where the blocking poll runs, never on the cooperative pool.
    private static let pollQueue = DispatchQueue(label: "hive-health.qemu-exit")

    private struct ExitWatch {
        var instance: String
        var pidFile: String
        var pid: Int32
        var fd: Int32
    }

    /// The pid files to watch, by instance: targets whose `socket` is someone else's monitor, `pid_file` as
    /// ``observe(_:)`` reads it.
    public func exitWatches(_ targets: [ProbeEventTarget]) -> [String: String] {
        var desired: [String: String] = [:]
        for target in targets {
            guard let instance = target.instanceID,
                let socket = QMPProbeSupport.absolutePath(
                    target.parameters.string("socket"), runtimeDirectory: environment.runtimeDirectory),
                QMPMonitorRole(path: socket) == .shared,
                let pidFile = QMPProbeSupport.absolutePath(
                    target.parameters.string("pid_file"), runtimeDirectory: environment.runtimeDirectory)
            else { continue }
            desired[instance] = pidFile
        }
        return desired
    }

    /// Watches the QEMUs of ``exitWatches(_:)`` until cancelled, each poll waiting at most `pollSlice`.
    func watchExits(_ context: ProbeEventContext, pollSlice: Duration = .milliseconds(500)) async {
        var watched: [String: ExitWatch] = [:]
        // Pid files whose process was seen exiting: not watched again until the pid in them changes.
        var exited: [String: Int32] = [:]
        defer { for entry in watched.values { close(entry.fd) } }
        while !Task.isCancelled {
            let desired = exitWatches(context.targets())
            for (id, entry) in watched where desired[id] != entry.pidFile {
                close(entry.fd)
                watched[id] = nil
            }
            for (id, pidFile) in desired where watched[id] == nil {
                guard case .success(let pid) = QEMUProcessWatch.pid(fromFile: pidFile), exited[pidFile] != pid
                else { continue }
                switch QEMUProcessWatch.open(pid: pid) {
                case .watching(let fd): watched[id] = ExitWatch(instance: id, pidFile: pidFile, pid: pid, fd: fd)
                case .notWatchable(.exited):
                    exited[pidFile] = pid
                    context.triggerInstance(id, "QEMU pid \(pid) is gone (pidfd)")
                case .notWatchable(let state):
                    context.logger.debug("QEMU exit watch: \(state)", metadata: ["instance": "\(id)"])
                }
            }
            let fds = watched.values.map(\.fd)
            let readable: [Int32] = await withCheckedContinuation { continuation in
                Self.pollQueue.async {
                    // With nothing to watch, the poll of no descriptors is just the wait.
                    continuation.resume(returning: QEMUProcessWatch.waitForExit(fds, timeout: pollSlice))
                }
            }
            for fd in readable {
                guard let entry = watched.values.first(where: { $0.fd == fd }) else { continue }
                close(fd)
                watched[entry.instance] = nil
                exited[entry.pidFile] = entry.pid
                context.logger.warning(
                    "QEMU exited", metadata: ["instance": "\(entry.instance)", "pid": "\(entry.pid)"])
                context.triggerInstance(entry.instance, "QEMU pid \(entry.pid) exited (pidfd)")
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Dispatch
import HealthCore
import HealthQEMU
import Logging
import ServiceLifecycle

/// Sees QEMU's exit within milliseconds without any monitor, for the instances whose monitor is someone else's
/// (``QMPMonitorRole/shared``, Spinifex's): one pidfd per QEMU (from its pid file), all polled by one loop; a pidfd
/// that becomes readable re-runs the instance's checks at once (`qmp.events` and `qemu.process` then fail).
struct QEMUExitService: Service {
    let daemon: HealthDaemon
    /// How long one poll waits before the set of instances is looked at again.
    var pollSlice: Duration = .milliseconds(500)

    /// Where the blocking poll runs, never on the cooperative pool.
    private static let pollQueue = DispatchQueue(label: "hive-health.qemu-exit")

    private struct Watched {
        var instance: String
        var pidFile: String
        var pid: Int32
        var fd: Int32
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var watched: [String: Watched] = [:]
            // Pid files whose process was seen exiting: not watched again until the pid in them changes.
            var exited: [String: Int32] = [:]
            defer { for entry in watched.values { close(entry.fd) } }
            while !Task.isCancelled {
                let desired = desiredInstances()
                for (id, entry) in watched where desired[id] != entry.pidFile {
                    close(entry.fd)
                    watched[id] = nil
                }
                for (id, pidFile) in desired where watched[id] == nil {
                    guard case .success(let pid) = QEMUProcessWatch.pid(fromFile: pidFile), exited[pidFile] != pid
                    else { continue }
                    switch QEMUProcessWatch.open(pid: pid) {
                    case .watching(let fd): watched[id] = Watched(instance: id, pidFile: pidFile, pid: pid, fd: fd)
                    case .notWatchable(.exited):
                        exited[pidFile] = pid
                        trigger(id, reason: "QEMU pid \(pid) is gone (pidfd)")
                    case .notWatchable(let state):
                        daemon.logger.debug("QEMU exit watch: \(state)", metadata: ["instance": "\(id)"])
                    }
                }
                let fds = watched.values.map(\.fd)
                let slice = pollSlice
                let readable: [Int32] = await withCheckedContinuation { continuation in
                    Self.pollQueue.async {
                        // With nothing to watch, the poll of no descriptors is just the wait.
                        continuation.resume(returning: QEMUProcessWatch.waitForExit(fds, timeout: slice))
                    }
                }
                for fd in readable {
                    guard let entry = watched.values.first(where: { $0.fd == fd }) else { continue }
                    close(fd)
                    watched[entry.instance] = nil
                    exited[entry.pidFile] = entry.pid
                    daemon.logger.warning(
                        "QEMU exited", metadata: ["instance": "\(entry.instance)", "pid": "\(entry.pid)"])
                    trigger(entry.instance, reason: "QEMU pid \(entry.pid) exited (pidfd)")
                }
            }
        }
    }

    /// Running instances whose health monitor is shared, with their pid files, when the catalogue has a check that
    /// a QEMU exit decides (`qmp.*`, `qemu.process`).
    private func desiredInstances() -> [String: String] {
        guard daemon.planner.checks.contains(where: { $0.probe.hasPrefix("qmp.") || $0.probe == "qemu.process" })
        else { return [:] }
        var desired: [String: String] = [:]
        for instance in daemon.planner.instances where instance.state == .running && !instance.pidFile.isEmpty {
            let socket = instance.healthQMPSocket
            guard !socket.isEmpty, QMPMonitorRole(path: socket) == .shared else { continue }
            let pidFile = instance.pidFile
            desired[instance.id] = pidFile.hasPrefix("/") ? pidFile : daemon.setup.layout.directory + "/" + pidFile
        }
        return desired
    }

    private func trigger(_ instance: String, reason: String) {
        daemon.scheduler.trigger(reason: reason) { $0.instanceID == instance }
    }
}

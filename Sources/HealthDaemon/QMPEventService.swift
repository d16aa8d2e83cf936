import Foundation
import HealthCatalogue
import HealthCore
import HealthEngine
import HealthInventory
import HealthQEMU
import Logging
import ServiceLifecycle
import Synchronization

/// Holds the QMP event connection of every running instance (through the shared ``QMPConnectionPool``, so the
/// `qmp.*` probes use the same one) and turns events into action: `SHUTDOWN`, `STOP`/`RESUME`, `GUEST_PANICKED`,
/// `BLOCK_IO_ERROR` and the socket closing re-run the instance's checks at once; `STOP` for an operator pause or a
/// migration opens a suppression window, `RESUME` (or the monitor closing) ends it.
struct QMPEventService: Service {
    let daemon: HealthDaemon
    var pool: QMPConnectionPool = .shared

    /// One watched instance: its socket, and whether it is still wanted.
    private struct Watch: Sendable, Hashable {
        var instance: String
        var socket: String
    }

    func run() async throws {
        let wanted = WantedWatches()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var started: Set<Watch> = []
                while !Task.isCancelled {
                    let desired = desiredWatches()
                    wanted.set.withLock { $0 = desired }
                    for watch in desired.subtracting(started) {
                        started.insert(watch)
                        group.addTask { await self.watch(watch, wanted: wanted) }
                    }
                    for watch in started.subtracting(desired) {
                        started.remove(watch)
                        daemon.state.suppress(instance: watch.instance, reason: nil)
                        // Ends the watcher's event stream; it sees it is no longer wanted and returns.
                        if !desired.contains(where: { $0.socket == watch.socket }) { await pool.close(watch.socket) }
                    }
                    guard (try? await Task.sleep(for: daemon.timing.qmpWatchRefresh)) != nil else { break }
                }
                wanted.set.withLock { $0 = [] }
                group.cancelAll()
            }
        }
    }

    /// Running instances with a QMP socket, when the catalogue has any `qmp.*` check.
    private func desiredWatches() -> Set<Watch> {
        guard daemon.planner.checks.contains(where: { $0.probe.hasPrefix("qmp.") }) else { return [] }
        let instances = daemon.planner.instances.filter { $0.state == .running }
        return Set(
            instances.compactMap { instance -> Watch? in
                let socket = instance.healthQMPSocket
                // Someone else's monitor is never held (QEMUExitService watches those QEMUs through a pidfd).
                guard !socket.isEmpty, QMPMonitorRole(path: socket) == .own else { return nil }
                let path = socket.hasPrefix("/") ? socket : daemon.setup.layout.directory + "/" + socket
                return Watch(instance: instance.id, socket: path)
            })
    }

    private func watch(_ watch: Watch, wanted: WantedWatches) async {
        let logger = daemon.logger
        let timeout = daemon.setup.config.qmpTimeout
        var backoff = Duration.seconds(1)
        var failedAttempts = 0
        while !Task.isCancelled, wanted.set.withLock({ $0.contains(watch) }) {
            let connection: QMPConnection
            do {
                connection = try await pool.connection(to: watch.socket, timeout: timeout, logger: logger)
            } catch {
                failedAttempts += 1
                if failedAttempts == 1 {
                    logger.info(
                        "QMP events: cannot connect", metadata: ["instance": "\(watch.instance)", "error": "\(error)"])
                }
                guard (try? await Task.sleep(for: backoff)) != nil else { return }
                backoff = min(backoff * 2, daemon.timing.qmpMaxBackoff)
                continue
            }
            failedAttempts = 0
            backoff = .seconds(1)
            let events = connection.events()
            await updateSuppression(watch, connection: connection, timeout: timeout)
            for await event in events {
                guard qmpTriggeringEvents.contains(event.name) else { continue }
                logger.info("QMP event", metadata: ["instance": "\(watch.instance)", "event": "\(event.name)"])
                if event.name == "STOP" || event.name == "RESUME" || event.name == "MIGRATION" {
                    await updateSuppression(watch, connection: connection, timeout: timeout)
                }
                trigger(watch.instance, reason: "QMP event \(event.name)")
            }
            guard wanted.set.withLock({ $0.contains(watch) }), !Task.isCancelled else { return }
            let reason = connection.closeReason?.message ?? "closed"
            logger.warning("QMP socket closed", metadata: ["instance": "\(watch.instance)", "reason": "\(reason)"])
            // A monitor that went away ends any pause: the failure it causes must count.
            daemon.state.suppress(instance: watch.instance, reason: nil)
            trigger(watch.instance, reason: "QMP socket closed")
        }
    }

    /// The watches the last refresh wanted, read by the watchers.
    private final class WantedWatches: Sendable {
        let set = Mutex<Set<Watch>>([])
    }

    private func trigger(_ instance: String, reason: String) {
        daemon.scheduler.trigger(reason: reason) { $0.instanceID == instance }
    }

    /// Opens or ends the instance's suppression window from its run state.
    private func updateSuppression(_ watch: Watch, connection: QMPConnection, timeout: Duration) async {
        guard let status = try? await connection.execute("query-status", timeout: timeout),
            let state = status["status"]?.string
        else { return }
        let reason = QMPEventService.suppressionReasons[state]
        daemon.state.suppress(instance: watch.instance, reason: reason)
        if let reason {
            daemon.logger.info(
                "suppression window opened", metadata: ["instance": "\(watch.instance)", "reason": "\(reason)"])
        }
    }

    /// Run states that open a suppression window (an operator pause, a migration, a snapshot).
    static let suppressionReasons: [String: String] = [
        "paused": "paused by an operator",
        "inmigrate": "migrating",
        "postmigrate": "migrating",
        "finish-migrate": "migrating",
        "save-vm": "saving a snapshot",
        "restore-vm": "restoring a snapshot",
    ]
}

/// The events that re-run an instance's checks (kept in step with `qmp.events`).
let qmpTriggeringEvents: Set<String> = [
    "SHUTDOWN", "STOP", "RESUME", "GUEST_PANICKED", "BLOCK_IO_ERROR", "RESET", "POWERDOWN", "MIGRATION",
]

import HealthCore
import HealthQEMU
import ProbeKit
import Synchronization

/// The event source of `qmp.events`: one watcher per instance whose `qmp.events` check names a monitor of
/// hive-health's own, holding the connection the probe then reads (through the same pool); for someone else's
/// monitor, which is never held, QEMU's exit through a pidfd (`QMPEventsProbe+ExitWatch.swift`).
///
/// `STOP` for an operator pause or a migration opens a suppression window, `RESUME` (or the monitor closing) ends it.
extension QMPEventsProbe {
    /// One watched instance: its socket, and whether it is still wanted.
    struct Watch: Sendable, Hashable {
        var instance: String
        var socket: String
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

    public func watchEvents(_ context: ProbeEventContext) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchMonitors(context) }
            group.addTask { await self.watchExits(context) }
        }
    }

    /// Holds the monitors of ``watches(_:)`` until cancelled.
    func watchMonitors(_ context: ProbeEventContext) async {
        let wanted = WantedWatches()
        await withTaskGroup(of: Void.self) { group in
            var started: Set<Watch> = []
            while !Task.isCancelled {
                let desired = Set(monitorSockets(context.targets()).map { Watch(instance: $0.key, socket: $0.value) })
                wanted.set.withLock { $0 = desired }
                for watch in desired.subtracting(started) {
                    started.insert(watch)
                    group.addTask { await self.watch(watch, context: context, wanted: wanted) }
                }
                for watch in started.subtracting(desired) {
                    started.remove(watch)
                    context.suppressInstance(watch.instance, nil)
                    // Ends the watcher's event stream; it sees it is no longer wanted and returns.
                    if !desired.contains(where: { $0.socket == watch.socket }) { await pool.close(watch.socket) }
                }
                guard (try? await Task.sleep(for: context.refreshInterval)) != nil else { break }
            }
            wanted.set.withLock { $0 = [] }
            group.cancelAll()
        }
    }

    /// The monitors to hold, by instance: the `socket` of each target, as ``observe(_:)`` reads it, when it is
    /// hive-health's own.
    public func monitorSockets(_ targets: [ProbeEventTarget]) -> [String: String] {
        var sockets: [String: String] = [:]
        for target in targets {
            guard let instance = target.instanceID,
                let socket = QMPProbeSupport.absolutePath(
                    target.parameters.string("socket"), runtimeDirectory: environment.runtimeDirectory),
                QMPMonitorRole(path: socket) == .own
            else { continue }
            sockets[instance] = socket
        }
        return sockets
    }

    private func watch(_ watch: Watch, context: ProbeEventContext, wanted: WantedWatches) async {
        let logger = context.logger
        var backoff = Duration.seconds(1)
        var failedAttempts = 0
        while !Task.isCancelled, wanted.set.withLock({ $0.contains(watch) }) {
            let connection: QMPConnection
            do {
                connection = try await pool.connection(to: watch.socket, timeout: context.timeout, logger: logger)
            } catch {
                failedAttempts += 1
                if failedAttempts == 1 {
                    logger.info(
                        "QMP events: cannot connect", metadata: ["instance": "\(watch.instance)", "error": "\(error)"])
                }
                guard (try? await Task.sleep(for: backoff)) != nil else { return }
                backoff = min(backoff * 2, context.maxBackoff)
                continue
            }
            failedAttempts = 0
            backoff = .seconds(1)
            let events = connection.events()
            await updateSuppression(watch, connection: connection, context: context)
            for await event in events {
                guard Self.triggeringEvents.contains(event.name) else { continue }
                logger.info("QMP event", metadata: ["instance": "\(watch.instance)", "event": "\(event.name)"])
                if event.name == "STOP" || event.name == "RESUME" || event.name == "MIGRATION" {
                    await updateSuppression(watch, connection: connection, context: context)
                }
                context.triggerInstance(watch.instance, "QMP event \(event.name)")
            }
            guard wanted.set.withLock({ $0.contains(watch) }), !Task.isCancelled else { return }
            let reason = connection.closeReason?.message ?? "closed"
            logger.warning("QMP socket closed", metadata: ["instance": "\(watch.instance)", "reason": "\(reason)"])
            // A monitor that went away ends any pause: the failure it causes must count.
            context.suppressInstance(watch.instance, nil)
            context.triggerInstance(watch.instance, "QMP socket closed")
        }
    }

    /// Opens or ends the instance's suppression window from its run state.
    private func updateSuppression(_ watch: Watch, connection: QMPConnection, context: ProbeEventContext) async {
        guard let status = try? await connection.execute("query-status", timeout: context.timeout),
            let state = status["status"]?.string
        else { return }
        let reason = Self.suppressionReasons[state]
        context.suppressInstance(watch.instance, reason)
        if let reason {
            context.logger.info(
                "suppression window opened", metadata: ["instance": "\(watch.instance)", "reason": "\(reason)"])
        }
    }
}

/// The watches the last refresh wanted, read by the watchers.
private final class WantedWatches: Sendable {
    let set = Mutex<Set<QMPEventsProbe.Watch>>([])
}

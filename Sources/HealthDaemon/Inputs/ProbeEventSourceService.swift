import HealthCatalogue
import HealthCore
import ServiceLifecycle

/// Runs the event source of every probe that owns one (``ProbeEventSource``, e.g. `qmp.events` holding each
/// instance's QMP monitor), handing it the targets of its checks and the daemon's trigger and suppression.
struct ProbeEventSourceService: Service {
    let daemon: HealthDaemon

    func run() async throws {
        let sources = daemon.eventSources
        guard !sources.isEmpty else { return }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for source in sources {
                    let context = makeContext(for: type(of: source).descriptor)
                    group.addTask { await source.watchEvents(context) }
                }
            }
        }
    }

    /// The context of one probe kind's source: its jobs in the daemon's current plan, trigger and suppression.
    private func makeContext(for descriptor: ProbeDescriptor) -> ProbeEventContext {
        let daemon = self.daemon
        let kind = descriptor.kind
        return ProbeEventContext(
            targets: {
                let checks = daemon.planner.checks.filter { $0.probe == kind }
                guard !checks.isEmpty else { return [] }
                return daemon.setup.plan(checks: checks, instances: daemon.planner.instances).jobs.map { job in
                    ProbeEventTarget(
                        checkName: job.check.name, instanceID: job.instanceID, parameters: job.parameters)
                }
            },
            triggerInstance: { instance, reason in
                daemon.scheduler.trigger(reason: reason) { $0.instanceID == instance }
            },
            suppressInstance: { instance, reason in daemon.evaluator.suppress(instance: instance, reason: reason) },
            refreshInterval: daemon.timing.qmpWatchRefresh, maxBackoff: daemon.timing.qmpMaxBackoff,
            timeout: daemon.setup.config.timeout(for: descriptor.timeoutClass), logger: daemon.logger)
    }
}

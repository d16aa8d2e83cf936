import HealthCore
import HealthQEMU

extension ProbeEnvironment {
    /// The QMP connections every probe of QEMU's monitor shares: one connection per hive-health-owned monitor socket
    /// for this environment (the daemon's), so `qmp.status`, `qmp.block` and the `qmp.events` watcher use one.
    public var qmpConnections: QMPConnectionPool {
        resources.shared(QMPConnectionPool.self) { QMPConnectionPool() }
    }

    /// This environment with `pool` as its QMP connections and resources of its own otherwise (tests that watch
    /// their pool).
    public func withQMPConnections(_ pool: QMPConnectionPool) -> ProbeEnvironment {
        var environment = self
        environment.resources = ProbeResources()
        environment.resources.provide(pool)
        return environment
    }
}

import HealthCore
import HealthNetwork

extension ProbeEnvironment {
    /// The ICMP pinger of `namespace` (nil: the daemon's own) that this environment's probes share: one set of
    /// sockets and one receive loop per namespace.
    public func pinger(namespace: String?) -> Pinger {
        resources.shared(Pinger.self, key: namespace ?? "") { Pinger(namespace: namespace, logger: logger) }
    }

    /// The monitor of the OVSDB at `socketPath` that this environment's probes share: one connection per database.
    public func ovsdbMonitor(socketPath: String) -> OVSDBMonitor {
        resources.shared(OVSDBMonitor.self, key: socketPath) { OVSDBMonitor(socketPath: socketPath, logger: logger) }
    }
}

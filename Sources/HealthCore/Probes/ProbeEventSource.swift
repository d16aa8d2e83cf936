import Logging

/// A probe that also owns a source of pushed events (QMP events, a socket closing): besides being asked to
/// ``Probe/observe(_:)``, it watches its targets for as long as the daemon runs and asks for checks to run at once
/// when something happens. The daemon runs ``watchEvents(_:)`` of every probe that conforms, once, and nothing else:
/// what to watch and how is the probe's.
///
/// - Important: ``watchEvents(_:)`` returns when its task is cancelled (the daemon's shutdown) and never throws;
///   trouble with one target (a refused connection) is logged and retried within the source.
public protocol ProbeEventSource: Probe {
    /// Watches the targets ``ProbeEventContext/targets()`` lists (re-read every
    /// ``ProbeEventContext/refreshInterval``) until cancelled.
    func watchEvents(_ context: ProbeEventContext) async
}

/// One target of a probe's checks in the daemon's current plan, as its event source sees it.
public struct ProbeEventTarget: Sendable, Hashable {
    public var checkName: String
    /// The instance looked at (the instance of a volume); nil for the node.
    public var instanceID: String?
    /// The check's parameters for this target: defaults applied, templates filled, as a run would get them.
    public var parameters: ProbeParameters

    public init(checkName: String, instanceID: String?, parameters: ProbeParameters) {
        self.checkName = checkName
        self.instanceID = instanceID
        self.parameters = parameters
    }
}

/// What the daemon hands a probe's event source: the targets to watch and what it may do when an event comes.
public struct ProbeEventContext: Sendable {
    /// The enabled checks of the probe's kind on running targets, from the daemon's current catalogue and inventory.
    public var targets: @Sendable () -> [ProbeEventTarget]
    /// Re-runs every check of the instance now (`reason` goes to the log).
    public var triggerInstance: @Sendable (_ instanceID: String, _ reason: String) -> Void
    /// Opens a suppression window for the instance (a reason) or ends it (nil): failures inside it do not count.
    public var suppressInstance: @Sendable (_ instanceID: String, _ reason: String?) -> Void
    /// How often ``targets`` is read again.
    public var refreshInterval: Duration
    /// The longest wait between attempts to reach a target that refuses.
    public var maxBackoff: Duration
    /// The time one request of the source may take (hive.toml's timeout of the probe's ``TimeoutClass``).
    public var timeout: Duration
    public var logger: Logger

    public init(
        targets: @escaping @Sendable () -> [ProbeEventTarget],
        triggerInstance: @escaping @Sendable (_ instanceID: String, _ reason: String) -> Void,
        suppressInstance: @escaping @Sendable (_ instanceID: String, _ reason: String?) -> Void,
        refreshInterval: Duration, maxBackoff: Duration, timeout: Duration, logger: Logger
    ) {
        self.targets = targets
        self.triggerInstance = triggerInstance
        self.suppressInstance = suppressInstance
        self.refreshInterval = refreshInterval
        self.maxBackoff = maxBackoff
        self.timeout = timeout
        self.logger = logger
    }
}

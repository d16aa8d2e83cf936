import Logging

/// A kind of health probe: the one extension point of hive-health.
///
/// A probe is created once per daemon (``init(environment:)``) and then asked, many times and concurrently,
/// to ``observe(_:)`` one target. Conforming types in the `HealthProbes` target (or a site's probe target) are
/// found at build time by the `ProbeRegistryPlugin`: adding a probe is adding one file.
///
/// - Important: ``observe(_:)`` reports a failing target as ``Observation/failed(_:values:)``, never by
///   throwing. Trouble of the probe itself (bad parameters, no permission, the peer's garbage) is
///   ``Observation/unknown(_:values:)``. The scheduler enforces ``ProbeRequest/timeout``: a probe should
///   honour cancellation, but one that does not is abandoned and reported unknown.
public protocol Probe: Sendable {
    /// The kind string checks use in `probe:`, its category, targets and parameters.
    static var descriptor: ProbeDescriptor { get }

    /// Creates the probe with the daemon's environment (host root, runtime directory, logger).
    init(environment: ProbeEnvironment)

    /// Looks at one target once and says what it saw.
    func observe(_ request: ProbeRequest) async -> Observation

    /// Answers at once when the probe can without waiting: from what it holds in memory (a monitor's table, a value
    /// an event source keeps). The scheduler asks this first, inline on its loop, and starts ``observe(_:)`` in a task
    /// of its own only when it returns nil. It must never block or do I/O. The default returns nil.
    func observeNow(_ request: ProbeRequest) -> Observation?
}

extension Probe {
    public func observeNow(_ request: ProbeRequest) -> Observation? { nil }
}

/// Which of hive.toml's timeouts is a probe's default.
public enum TimeoutClass: String, Sendable, Hashable, Codable {
    /// `[health.thresholds] network_timeout`.
    case network
    /// `[health.thresholds] qmp_timeout`.
    case qmp
    /// `[health.thresholds] ebs_timeout`.
    case ebs
    /// The daemon's general default (10 s).
    case standard
}

/// What a probe kind is: its name, where its results go, what it looks at and what it accepts.
public struct ProbeDescriptor: Sendable, Hashable {
    /// The registered kind, e.g. `host.meminfo`.
    public var kind: String
    /// The category a check of this probe belongs to unless the check says otherwise.
    public var category: HealthCategory
    /// The target kinds this probe can look at; the first is the default.
    public var targets: [TargetKind]
    public var parameters: [ParameterSpec]
    /// One line for `hive-health probes`.
    public var summary: String
    public var timeoutClass: TimeoutClass
    /// The probe asks Hive's services over NATS: its checks run whenever NATS is configured and are left out of
    /// the plan when it is not (rather than reporting unknown for ever).
    public var requiresNATS: Bool

    public init(
        kind: String, category: HealthCategory, targets: [TargetKind], parameters: [ParameterSpec] = [],
        timeoutClass: TimeoutClass = .standard, requiresNATS: Bool = false, summary: String
    ) {
        self.kind = kind
        self.category = category
        self.targets = targets
        self.parameters = parameters
        self.timeoutClass = timeoutClass
        self.requiresNATS = requiresNATS
        self.summary = summary
    }

    public func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
}

/// What a probe gets for one run.
public struct ProbeRequest: Sendable {
    /// The check's name, for messages and per-check state.
    public var checkName: String
    public var target: Target
    public var node: NodeInfo {
        get { context.node }
        set { context = Context(node: newValue, logger: context.logger) }
    }
    /// Defaults applied, templates filled.
    public var parameters: ProbeParameters
    /// The scheduler gives up on the probe after this long.
    public var timeout: Duration
    public var logger: Logger {
        get { context.logger }
        set { context = Context(node: context.node, logger: newValue) }
    }
    private var context: Context

    /// What every request of one plan shares, held once: the node and the daemon's logger (a request then costs one
    /// reference for both, not a copy of each of their fields per run).
    public final class Context: Sendable {
        public let node: NodeInfo
        public let logger: Logger

        public init(node: NodeInfo, logger: Logger) {
            self.node = node
            self.logger = logger
        }
    }

    public init(
        checkName: String, target: Target, node: NodeInfo, parameters: ProbeParameters, timeout: Duration,
        logger: Logger
    ) {
        self.init(
            checkName: checkName, target: target, parameters: parameters, timeout: timeout,
            context: Context(node: node, logger: logger))
    }

    public init(
        checkName: String, target: Target, parameters: ProbeParameters, timeout: Duration, context: Context
    ) {
        self.checkName = checkName
        self.target = target
        self.parameters = parameters
        self.timeout = timeout
        self.context = context
    }

    /// A key unique to this check and target, for probes that keep state between runs (counters, offsets).
    public var stateKey: String { checkName + "\u{1F}" + target.id }
}

/// What every probe is created with.
public struct ProbeEnvironment: Sendable {
    /// Root of the host's `/proc` and `/sys` (`/` in production, a fixture tree in tests).
    public var hostRoot: String
    /// Hive's runtime directory (sockets, pid files, console logs).
    public var runtimeDirectory: String
    public var logger: Logger
    /// Hive's KV buckets (JetStream KV); nil when the daemon runs without NATS.
    public var keyValues: (any KeyValueReader)?
    /// The first part of Hive's bucket names (`hive` or `spinifex`, `[health.nats] prefix`).
    public var bucketPrefix: String
    /// Clients the probes share (QMP connections, pingers, OVSDB monitors), made once for this environment and
    /// shared by every copy of it; the probe kit (`ProbeKit`) names them.
    public var resources: ProbeResources

    /// Without a `logger`, probes log nowhere (the daemon always passes its own). Without `resources`, the
    /// environment gets a set of its own.
    public init(
        hostRoot: String = "/", runtimeDirectory: String = "/tmp",
        logger: Logger = Logger(label: "hive-health", factory: { _ in SwiftLogNoOpLogHandler() }),
        keyValues: (any KeyValueReader)? = nil, bucketPrefix: String = "hive",
        resources: ProbeResources = ProbeResources()
    ) {
        self.hostRoot = hostRoot
        self.runtimeDirectory = runtimeDirectory
        self.logger = logger
        self.keyValues = keyValues
        self.bucketPrefix = bucketPrefix
        self.resources = resources
    }

    /// Request/reply to Hive's services: the NATS side of ``keyValues`` when it offers it (the daemon's does); nil
    /// without NATS.
    public var requester: (any MessageRequester)? { keyValues as? any MessageRequester }

    /// `path` (absolute, e.g. `/proc/meminfo`) under ``hostRoot``.
    public func hostPath(_ path: String) -> String {
        if hostRoot == "/" || hostRoot.isEmpty { return path }
        return (hostRoot.hasSuffix("/") ? String(hostRoot.dropLast()) : hostRoot) + path
    }
}

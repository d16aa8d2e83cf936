import HealthCore

/// hive-health's settings: the `[health]` section of Hive's `hive.toml`, plus the node facts it shares with Hive.
///
/// Every setting is optional; ``defaults`` is what hive-health runs with when hive.toml says nothing.
/// Load it with ``load(path:)`` or ``parse(_:file:)``.
public struct HealthConfig: Sendable, Hashable {
    /// Where targets come from.
    public enum InventorySource: String, Sendable, Hashable, CaseIterable {
        /// Running `qemu-system-*` processes and their arguments.
        case qemuScan = "qemu-scan"
        /// Hive's VM JSON in a file (`[health.inventory] path`).
        case file
        /// Hive's `hive-instance-state` JetStream KV bucket.
        case hiveKV = "hive-kv"
    }

    /// One `[nodes.<name>]` table of hive.toml (Hive's; read, never validated beyond types).
    public struct NodeConfig: Sendable, Hashable {
        public var name: String
        public var region: String
        public var availabilityZone: String
        public var baseDirectory: String?
        /// `[nodes.<name>.nats] host`.
        public var natsHost: String?
        /// `[nodes.<name>.nats] acl.token`.
        public var natsToken: String?
        /// `[nodes.<name>.nats] cacert` (Spinifex): the server speaks TLS and is verified against this CA file. A
        /// relative path is taken from the configuration file's folder.
        public var natsCACertificate: String?

        public init(name: String, region: String = "", availabilityZone: String = "", baseDirectory: String? = nil,
                    natsHost: String? = nil, natsToken: String? = nil, natsCACertificate: String? = nil) {
            self.name = name
            self.region = region
            self.availabilityZone = availabilityZone
            self.baseDirectory = baseDirectory
            self.natsHost = natsHost
            self.natsToken = natsToken
            self.natsCACertificate = natsCACertificate
        }
    }

    /// `[health.api]`: the EC2-compatible HTTP API.
    public struct APIConfig: Sendable, Hashable {
        /// `host:port` to listen on.
        public var listen: String = "127.0.0.1:9797"
        /// A TOML file holding a `[health.api.credentials]`-shaped table, kept apart for its permissions.
        public var credentialsFile: String?
        /// Access key id -> secret access key, for SigV4.
        public var credentials: [String: String] = [:]

        public init() {}
    }

    /// `[health.inventory]`.
    public struct InventoryConfig: Sendable, Hashable {
        /// `qemu-scan` by default; `hive-kv` for a `spinifex.toml`, which always names its nats-server.
        public var source: InventorySource = .qemuScan
        /// The VM JSON file when ``source`` is ``InventorySource/file``.
        public var path: String?

        public init() {}
    }

    /// `[health.nats]`: what hive-health does on NATS when this node's `[nodes.<node>.nats] host` is set.
    public struct NATSConfig: Sendable, Hashable {
        /// `false` keeps hive-health off NATS even when the node has a NATS host.
        public var enabled = true
        /// The first token of every subject and bucket name hive-health uses: `spinifex` when the configuration is
        /// a `spinifex.toml`, else `hive` (see ``HealthConfig/defaultPrefix(forFile:)``).
        public var prefix = "hive"
        /// A full status snapshot of every instance is published this often (changes go out at once).
        public var statusInterval: Duration = .seconds(60)
        /// CloudWatch-shaped datapoints are published this often.
        public var metricsInterval: Duration = .seconds(60)
        /// The agent writes its own heartbeat (`agent.<node>` in the status bucket) this often.
        public var heartbeatInterval: Duration = .seconds(10)
        /// Outgoing messages kept while NATS is unreachable; past this the oldest are dropped (and counted).
        public var outboxLimit = 10_000
        /// Follow the shared catalogue (`<prefix>-health-catalog`): a pushed version replaces the local checks.d.
        public var sharedCatalogue = true
        /// Replicas of every bucket and stream hive-health creates: 1 on a single server, 3 on a three-server
        /// cluster (at most 5, the JetStream limit). Buckets and streams that exist keep theirs.
        public var replicas = 1

        public init() {}
    }

    /// `[health.recovery]` (HealthCore's, so the recovery policy takes it as it is).
    public typealias RecoveryConfig = HealthCore.RecoveryConfig
    /// `[health.peers]`.
    public typealias PeersConfig = HealthCore.PeersConfig

    /// Top-level `node`: the node this daemon runs on.
    public var node: String?
    /// `[nodes.<name>]` tables by name.
    public var nodes: [String: NodeConfig] = [:]

    public var enabled = true
    /// Default interval of every check.
    public var checkInterval: Duration = .seconds(60)
    public var systemCheckEnabled = true
    public var instanceCheckEnabled = true
    public var ebsCheckEnabled = true
    public var recoveryEnabled = false
    public var checksDirectory: String?
    /// The environment overlay applied when the command line names none.
    public var environment: String?
    /// `[health] cluster`: the cluster this node belongs to, for overlays' `cluster:` selectors.
    public var cluster: String?
    /// `[health.labels]`: this node's labels, for overlays' `labels:` selectors.
    public var labels: [String: String] = [:]
    public var stateDirectory: String?
    /// Hive's runtime directory; nil means the rule of ``RuntimeLayout`` (`$XDG_RUNTIME_DIR`, `/run/spinifex`,
    /// `~/spinifex`, `~/hive`, `/tmp`).
    public var runtimeDirectory: String?
    public var hostRoot = "/"
    /// After launch, an instance without results is `initializing` rather than `insufficient-data`.
    public var launchGracePeriod: Duration = .seconds(300)
    /// Probe runs in flight at once, all kinds together.
    public var maxConcurrency = 64
    /// Per probe kind caps on runs in flight.
    public var probeConcurrency: [String: Int] = [:]

    /// `[health.thresholds]`.
    public var networkTimeout: Duration = .seconds(5)
    /// The seed's defaults (Hive's own `[health.thresholds]`): 10 s for QMP, 30 s for EBS.
    public var qmpTimeout: Duration = .seconds(10)
    public var ebsTimeout: Duration = .seconds(30)
    /// The timeout of probes whose ``TimeoutClass`` is `standard`.
    public var standardTimeout: Duration = .seconds(10)
    public var consecutiveFailures = 2
    public var consecutiveSuccesses = 1
    public var flapHigh: Double = 50
    public var flapLow: Double = 25

    public var api = APIConfig()
    public var inventory = InventoryConfig()
    public var nats = NATSConfig()
    public var recovery = RecoveryConfig()
    public var peers = PeersConfig()

    /// The file this configuration was read from, for provenance; nil for ``defaults``.
    public var source: String?
    /// Dotted keys that hive.toml set explicitly (`health.check_interval`), to tell them from built-in defaults.
    public var explicitKeys: Set<String> = []

    public init() {}

    /// hive-health's settings when hive.toml has no `[health]` section.
    public static let defaults = HealthConfig()

    /// Where the cluster's configuration is looked for when none is named: Spinifex's, then the Hive era's.
    public static let installedFiles = ["/etc/spinifex/spinifex.toml", "/etc/hive/hive.toml"]

    /// The subject and bucket prefix a configuration file implies: Spinifex's `spinifex.toml` means `spinifex`,
    /// anything else (hive.toml) `hive`. `[health.nats] prefix` overrides it.
    public static func defaultPrefix(forFile file: String) -> String {
        file.split(separator: "/").last == "spinifex.toml" ? "spinifex" : "hive"
    }

    /// The default thresholds of every check.
    public var thresholds: Thresholds {
        Thresholds(consecutiveFailures: consecutiveFailures, consecutiveSuccesses: consecutiveSuccesses,
                   flapHigh: flapHigh, flapLow: flapLow)
    }

    /// The default timeout of a probe of `timeoutClass`.
    public func timeout(for timeoutClass: TimeoutClass) -> Duration {
        switch timeoutClass {
        case .network: networkTimeout
        case .qmp: qmpTimeout
        case .ebs: ebsTimeout
        case .standard: standardTimeout
        }
    }

    /// The hive.toml key that sets the default timeout of `timeoutClass`, if any.
    public static func timeoutKey(for timeoutClass: TimeoutClass) -> String? {
        switch timeoutClass {
        case .network: "health.thresholds.network_timeout"
        case .qmp: "health.thresholds.qmp_timeout"
        case .ebs: "health.thresholds.ebs_timeout"
        case .standard: nil
        }
    }

    /// The categories whose checks run: none when `[health] enabled = false`.
    public var enabledCategories: Set<HealthCategory> {
        guard enabled else { return [] }
        var categories: Set<HealthCategory> = []
        if systemCheckEnabled { categories.insert(.system) }
        if instanceCheckEnabled { categories.insert(.instance) }
        if ebsCheckEnabled { categories.insert(.ebs) }
        return categories
    }

    /// The `[nodes.<node>]` table of this daemon's node.
    public var currentNode: NodeConfig? { node.flatMap { nodes[$0] } }

    /// This daemon's node as the probes see it, when hive.toml names one.
    public var nodeInfo: NodeInfo? {
        guard let node else { return nil }
        let config = nodes[node]
        return NodeInfo(name: node, region: config?.region ?? "", availabilityZone: config?.availabilityZone ?? "")
    }

    /// Where a default came from: `hive.toml [health] check_interval` when hive.toml set it, else `default`.
    public func provenance(ofKey key: String) -> String {
        guard explicitKeys.contains(key) else { return "default" }
        var parts = key.split(separator: ".").map(String.init)
        let name = parts.removeLast()
        let file = source.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "hive.toml"
        return "\(file) [\(parts.joined(separator: "."))] \(name)"
    }
}

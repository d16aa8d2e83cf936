import Foundation
import HealthCatalogue
import HealthCore
import HealthEngine
import HealthInventory
import HealthNATS
import HealthStateStore
import Logging

/// The command-line options every subcommand shares (DESIGN §7); nil means "from hive.toml, else the default".
public struct DaemonOptions: Sendable, Hashable {
    public var configPath: String?
    public var checksDirectory: String?
    public var environment: String?
    public var inventory: String?
    public var node: String?
    public var stateDirectory: String?
    public var hostRoot: String?

    public init(
        configPath: String? = nil, checksDirectory: String? = nil, environment: String? = nil, inventory: String? = nil,
        node: String? = nil, stateDirectory: String? = nil, hostRoot: String? = nil
    ) {
        self.configPath = configPath
        self.checksDirectory = checksDirectory
        self.environment = environment
        self.inventory = inventory
        self.node = node
        self.stateDirectory = stateDirectory
        self.hostRoot = hostRoot
    }
}

/// Everything resolved from options, hive.toml and the machine: what the daemon and `check` run with.
public struct DaemonSetup: Sendable {
    /// Where the catalogue comes from: a checks.d folder, or the one built into the binary.
    public enum CatalogueSource: Sendable, Hashable, CustomStringConvertible {
        case directory(String)
        case embedded

        public var description: String {
            switch self {
            case .directory(let path): path
            case .embedded: "the built-in catalogue"
            }
        }
    }

    /// Installed catalogue locations tried, in order, when neither `--checks` nor `[health] checks_dir` is given.
    public static let installedCatalogues = ["/etc/hive-health/checks.d"]

    public var config: HealthConfig
    public var node: NodeInfo
    public var catalogueSource: CatalogueSource
    public var environment: String?
    public var inventory: InventorySpec
    public var layout: RuntimeLayout
    public var stateDirectory: String
    public var hostRoot: String
    public var registry: ProbeRegistry

    /// Resolves `options` against hive.toml (when given) and this machine.
    public static func resolve(_ options: DaemonOptions, registry: ProbeRegistry) throws -> DaemonSetup {
        var config = HealthConfig.defaults
        if let path = options.configPath ?? discoverConfiguration() {
            do {
                config = try HealthConfig.load(path: path)
            } catch {
                throw SetupError("\(error)")
            }
        }
        let nodeName = options.node ?? config.node ?? NodeInfo.localNodeName()
        let nodeConfig = config.nodes[nodeName]
        let node = NodeInfo(
            name: nodeName, region: nodeConfig?.region ?? "", availabilityZone: nodeConfig?.availabilityZone ?? "")

        let catalogueSource: CatalogueSource
        if let directory = options.checksDirectory ?? config.checksDirectory {
            catalogueSource = .directory(directory)
        } else if let installed = installedCatalogues.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            catalogueSource = .directory(installed)
        } else {
            catalogueSource = .embedded
        }

        let inventory: InventorySpec
        do {
            if let text = options.inventory {
                inventory = try InventorySpec(parsing: text)
            } else {
                switch config.inventory.source {
                case .qemuScan: inventory = .qemuScan
                case .hiveKV: inventory = .hiveKV
                case .file:
                    inventory = try InventorySpec(parsing: "file", defaultFilePath: config.inventory.path)
                }
            }
        } catch {
            throw SetupError("\(error)")
        }

        let environment = ProcessInfo.processInfo.environment
        let stateDirectory =
            options.stateDirectory ?? config.stateDirectory
            ?? FileStateStore.defaultDirectory(
                environment: environment, isRoot: getuid() == 0, home: environment["HOME"] ?? NSHomeDirectory())
        return DaemonSetup(
            config: config, node: node, catalogueSource: catalogueSource,
            environment: options.environment ?? config.environment, inventory: inventory,
            layout: RuntimeLayout.current(configured: config.runtimeDirectory), stateDirectory: stateDirectory,
            hostRoot: options.hostRoot ?? config.hostRoot, registry: registry)
    }

    /// The cluster's configuration when none is named: `$SPINIFEX_CONFIG_PATH` (Spinifex's units set it), else the
    /// first of ``HealthConfig/installedFiles`` that exists (`/etc/spinifex/spinifex.toml`, `/etc/hive/hive.toml`).
    public static func discoverConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> String? {
        if let named = environment["SPINIFEX_CONFIG_PATH"], !named.isEmpty, exists(named) { return named }
        return HealthConfig.installedFiles.first(where: exists)
    }

    /// Loads the catalogue (never throws: problems come back as errors with their location).
    public func loadCatalogue(environment override: String? = nil) -> CatalogueLoadResult {
        let loader = catalogueLoader
        let environment = override ?? self.environment
        switch catalogueSource {
        case .directory(let path):
            return loader.load(directory: path, environment: environment)
        case .embedded:
            let prefix = "environments/"
            var files: [(name: String, contents: [UInt8])] = []
            var environments: [(name: String, contents: [UInt8])] = []
            for file in EmbeddedCatalogue.files {
                if file.name.hasPrefix(prefix) {
                    environments.append((String(file.name.dropFirst(prefix.count)), Array(file.contents.utf8)))
                } else {
                    files.append(("<built-in>/" + file.name, Array(file.contents.utf8)))
                }
            }
            return loader.load(files: files, environmentFiles: environments, environment: environment)
        }
    }

    /// The loader of this node: its registry, hive.toml's defaults, and this node (name, labels, cluster) for the
    /// overlays' selectors.
    public var catalogueLoader: CatalogueLoader {
        CatalogueLoader(registry: registry, config: config, scope: OverlayScope(config: config, node: node.name))
    }

    /// The files of the local catalogue source (a checks.d folder, or the built-in one), as a bundle.
    public func localCatalogueBundle() throws(CatalogueError) -> CatalogueBundle {
        switch catalogueSource {
        case .directory(let path): return try CatalogueBundle.read(directory: path)
        case .embedded:
            let files = EmbeddedCatalogue.files.map { ($0.name, $0.contents) }
            return CatalogueBundle(files: Dictionary(files) { first, _ in first })
        }
    }

    /// The inventory source; `hive-kv` needs NATS (`connection`, made from ``natsConfiguration``).
    public func makeInventory(logger: Logger, connection: NATSConnection? = nil) throws -> any InventorySource {
        if let source = inventory.makeLocalSource(node: node, layout: layout, logger: logger) { return source }
        guard let connection else {
            throw SetupError(
                "inventory source \(inventory) needs NATS: set [nodes.\(node.name).nats] host in hive.toml, "
                    + "or use --inventory file:PATH or qemu-scan")
        }
        return HiveKVInventory(
            keyValues: NATSKeyValueReader(connection: connection), bucket: subjects.instanceStateBucket, node: node,
            layout: layout, logger: logger)
    }

    /// How to reach NATS: this node's `[nodes.<node>.nats] host`, `acl.token` and `cacert` (TLS), unless
    /// `[health.nats] enabled` is false. Nil means hive-health runs without NATS (file state store, nothing published).
    public var natsConfiguration: NATSConfiguration? {
        guard config.nats.enabled, let nodeConfig = config.nodes[node.name], let host = nodeConfig.natsHost,
            !host.isEmpty
        else { return nil }
        var configuration = NATSConfiguration(
            host: host, token: nodeConfig.natsToken, caCertificateFile: nodeConfig.natsCACertificate)
        configuration.replicas = config.nats.replicas
        // nats-server's /connz then says which node a connection is (its traffic per agent, who holds a lock).
        configuration.name = "hive-health \(node.name)"
        return configuration
    }

    /// Subject and bucket names under `[health.nats] prefix`.
    public var subjects: HealthSubjects { HealthSubjects(prefix: config.nats.prefix) }

    /// What probes get; with a NATS `connection` they can read Hive's KV buckets (`node.heartbeat`).
    public func probeEnvironment(logger: Logger, connection: NATSConnection? = nil) -> ProbeEnvironment {
        ProbeEnvironment(
            hostRoot: hostRoot, runtimeDirectory: layout.directory, logger: logger,
            keyValues: connection.map { NATSKeyValueReader(connection: $0) }, bucketPrefix: config.nats.prefix)
    }

    public var concurrencyLimits: ConcurrencyLimits {
        ConcurrencyLimits(global: config.maxConcurrency, perKind: config.probeConcurrency)
    }

    public var stateSettings: Evaluator.Settings {
        Evaluator.Settings(launchGrace: config.launchGracePeriod, enabledCategories: config.enabledCategories)
    }

    /// The plan for a catalogue and an inventory snapshot.
    public func plan(checks: [CheckDefinition], instances: [InstanceInfo]) -> Plan {
        Plan.build(
            checks: checks, registry: registry, node: node, instances: instances, runtimeDirectory: layout.directory,
            enabledCategories: config.enabledCategories, natsConfigured: natsConfiguration != nil)
    }
}

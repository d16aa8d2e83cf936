import HealthCore
import TOMLKit

extension HealthConfig {
    /// Reads hive.toml at `path`. Errors name the file, line:column and key; the first one is thrown.
    public static func load(path: String) throws(CatalogueError) -> HealthConfig {
        let source = try SourceText.read(path: path, displayName: path)
        return try parse(source.text, file: path)
    }

    /// Parses hive.toml text. Unknown keys inside `[health]` are errors; the rest of the file is Hive's.
    public static func parse(_ text: String, file: String) throws(CatalogueError) -> HealthConfig {
        let (config, errors) = check(text, file: file)
        if let first = errors.first { throw first }
        return config
    }

    /// Parses hive.toml text and reports every problem, for `validate`.
    public static func check(_ text: String, file: String) -> (config: HealthConfig, errors: [CatalogueError]) {
        var reader = TOMLConfigReader(text: text, file: file)
        let config = reader.read()
        return (config, reader.errors)
    }
}

/// Reads `[health]` and the node tables out of a parsed TOML document, collecting located errors.
struct TOMLConfigReader {
    let text: String
    let file: String
    var errors: [CatalogueError] = []
    var config = HealthConfig()

    init(text: String, file: String) {
        self.text = text
        self.file = file
        config.source = file
        config.nats.prefix = HealthConfig.defaultPrefix(forFile: file)
        // Spinifex's own file always names its (TLS) nats-server: the instances come from its KV bucket.
        if config.nats.prefix == "spinifex" { config.inventory.source = .hiveKV }
    }

    mutating func read() -> HealthConfig {
        if text.utf8.count > SourceText.sizeLimit {
            do { try SourceText.checkSize(text.utf8.count, file: file) } catch { errors.append(error) }
            return config
        }
        // TOMLKit hands the text to C++ as a C string: a NUL would silently cut the file short.
        if let nul = text.utf8.firstIndex(of: 0) {
            let (line, column) = SourceText.lineAndColumn(Array(text.utf8), offset: text.utf8.distance(
                from: text.utf8.startIndex, to: nul))
            errors.append(CatalogueError(file: file, line: line, column: column, key: "",
                                         message: "NUL byte: hive.toml must be text", code: .encoding))
            return config
        }
        do {
            try TOMLPreScan.check(text)
        } catch {
            errors.append(CatalogueError(file: file, line: error.line, column: error.column, key: "",
                                         message: "TOML syntax error: \(error.message)", code: .syntax))
            return config
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            errors.append(CatalogueError(
                file: file, line: error.source.begin.line, column: error.source.begin.column, key: "",
                message: "TOML syntax error: \(error.description)", code: .syntax))
            return config
        } catch {
            errors.append(CatalogueError(file: file, line: 1, column: 1, key: "", message: "\(error)", code: .syntax))
            return config
        }
        readNodes(root)
        if let value = root["health"] {
            if let health = value.table {
                readHealth(health)
            } else {
                fail(["health"], "expected a table, got \(describe(value))", code: .type)
            }
        }
        return config
    }

    // MARK: Hive's tables (kept, not validated)

    private mutating func readNodes(_ root: TOMLTable) {
        config.node = root["node"]?.string
        guard let nodes = root["nodes"]?.table else { return }
        for name in nodes.keys {
            guard let table = nodes[name]?.table else { continue }
            var node = HealthConfig.NodeConfig(name: name)
            node.region = table["region"]?.string ?? ""
            node.availabilityZone = table["az"]?.string ?? ""
            node.baseDirectory = table["base_dir"]?.string
            if let nats = table["nats"]?.table {
                node.natsHost = nats["host"]?.string
                node.natsToken = nats["acl"]?.table?["token"]?.string ?? nats["acl.token"]?.string
                if let ca = nats["cacert"]?.string, !ca.isEmpty {
                    node.natsCACertificate = ca.hasPrefix("/") ? ca : configFolder + ca
                }
            }
            config.nodes[name] = node
        }
    }

    /// The configuration file's folder with a trailing `/` (empty for a bare file name): relative paths start there.
    private var configFolder: String {
        guard let slash = file.lastIndex(of: "/") else { return "" }
        return String(file[...slash])
    }

    // MARK: [health]

    private static let healthKeys: Set<String> = [
        "enabled", "check_interval", "system_check_enabled", "instance_check_enabled", "ebs_check_enabled",
        "recovery_enabled", "checks_dir", "environment", "state_dir", "runtime_dir", "host_root",
        "launch_grace_period", "max_concurrency", "probe_concurrency", "thresholds", "api", "inventory",
        "nats", "recovery", "peers", "cluster", "labels",
    ]
    private static let thresholdKeys: Set<String> = [
        "network_timeout", "qmp_timeout", "ebs_timeout", "consecutive_failures", "consecutive_successes",
        "flap_high", "flap_low",
    ]

    private mutating func readHealth(_ health: TOMLTable) {
        checkKeys(health, allowed: Self.healthKeys, path: ["health"])
        let path = ["health"]
        if let value = bool(health, "enabled", path) { config.enabled = value }
        if let value = duration(health, "check_interval", path, positive: true) { config.checkInterval = value }
        if let value = bool(health, "system_check_enabled", path) { config.systemCheckEnabled = value }
        if let value = bool(health, "instance_check_enabled", path) { config.instanceCheckEnabled = value }
        if let value = bool(health, "ebs_check_enabled", path) { config.ebsCheckEnabled = value }
        if let value = bool(health, "recovery_enabled", path) { config.recoveryEnabled = value }
        if let value = string(health, "checks_dir", path) { config.checksDirectory = value }
        if let value = string(health, "environment", path) { config.environment = value.isEmpty ? nil : value }
        if let value = string(health, "cluster", path) { config.cluster = value.isEmpty ? nil : value }
        if let table = table(health, "labels", path) {
            for name in table.keys {
                if let value = string(table, name, path + ["labels"]) { config.labels[name] = value }
            }
        }
        if let value = string(health, "state_dir", path) { config.stateDirectory = value }
        if let value = string(health, "runtime_dir", path) { config.runtimeDirectory = value }
        if let value = string(health, "host_root", path) { config.hostRoot = value }
        if let value = duration(health, "launch_grace_period", path, positive: false) {
            config.launchGracePeriod = value
        }
        if let value = int(health, "max_concurrency", path, range: 1...100_000) { config.maxConcurrency = value }
        if let table = table(health, "probe_concurrency", path) {
            for kind in table.keys {
                if let value = int(table, kind, path + ["probe_concurrency"], range: 1...100_000) {
                    config.probeConcurrency[kind] = value
                }
            }
        }
        if let table = table(health, "thresholds", path) { readThresholds(table) }
        if let table = table(health, "api", path) { readAPI(table) }
        if let table = table(health, "inventory", path) { readInventory(table) }
        if let table = table(health, "nats", path) { readNATS(table) }
        if let table = table(health, "recovery", path) { readRecovery(table) }
        if let table = table(health, "peers", path) { readPeers(table) }
    }

    private static let natsKeys: Set<String> = [
        "enabled", "prefix", "status_interval", "metrics_interval", "heartbeat_interval", "outbox_limit",
        "shared_catalogue", "replicas",
    ]

    private mutating func readNATS(_ table: TOMLTable) {
        let path = ["health", "nats"]
        checkKeys(table, allowed: Self.natsKeys, path: path)
        if let value = bool(table, "enabled", path) { config.nats.enabled = value }
        if let value = string(table, "prefix", path) {
            if value.isEmpty || value.contains(where: { " .*>\t".contains($0) }) {
                fail(path + ["prefix"], "a prefix is one subject token (like hive or spinifex), got '\(value)'")
            } else {
                config.nats.prefix = value
            }
        }
        if let value = duration(table, "status_interval", path, positive: true) { config.nats.statusInterval = value }
        if let value = duration(table, "metrics_interval", path, positive: true) {
            config.nats.metricsInterval = value
        }
        if let value = duration(table, "heartbeat_interval", path, positive: true) {
            config.nats.heartbeatInterval = value
        }
        if let value = int(table, "outbox_limit", path, range: 1...10_000_000) { config.nats.outboxLimit = value }
        if let value = bool(table, "shared_catalogue", path) { config.nats.sharedCatalogue = value }
        if let value = int(table, "replicas", path, range: 1...5) { config.nats.replicas = value }
    }

    private static let recoveryKeys: Set<String> = [
        "termination_allowed", "grace_period", "step_timeout", "command_timeout", "deduplication_window",
        "max_per_node", "max_per_cluster", "rate_window", "interval",
    ]

    private mutating func readRecovery(_ table: TOMLTable) {
        let path = ["health", "recovery"]
        checkKeys(table, allowed: Self.recoveryKeys, path: path)
        if let value = bool(table, "termination_allowed", path) { config.recovery.terminationAllowed = value }
        if let value = duration(table, "grace_period", path, positive: true) { config.recovery.gracePeriod = value }
        if let value = duration(table, "step_timeout", path, positive: true) { config.recovery.stepTimeout = value }
        if let value = duration(table, "command_timeout", path, positive: true) {
            config.recovery.commandTimeout = value
        }
        if let value = duration(table, "deduplication_window", path, positive: false) {
            config.recovery.deduplicationWindow = value
        }
        if let value = int(table, "max_per_node", path, range: 0...10_000) { config.recovery.maxPerNode = value }
        if let value = int(table, "max_per_cluster", path, range: 0...100_000) { config.recovery.maxPerCluster = value }
        if let value = duration(table, "rate_window", path, positive: true) { config.recovery.rateWindow = value }
        if let value = duration(table, "interval", path, positive: true) { config.recovery.interval = value }
    }

    private mutating func readPeers(_ table: TOMLTable) {
        let path = ["health", "peers"]
        checkKeys(table, allowed: ["heartbeat_max_age", "agent_alive_window", "membership_window"], path: path)
        if let value = duration(table, "heartbeat_max_age", path, positive: true) {
            config.peers.heartbeatMaxAge = value
        }
        if let value = duration(table, "agent_alive_window", path, positive: true) {
            config.peers.agentAliveWindow = value
        }
        if let value = duration(table, "membership_window", path, positive: true) {
            config.peers.membershipWindow = value
        }
        if config.peers.membershipWindow < config.peers.agentAliveWindow {
            fail(path + ["membership_window"], "membership_window must be at least agent_alive_window")
        }
    }

    private mutating func readThresholds(_ table: TOMLTable) {
        let path = ["health", "thresholds"]
        checkKeys(table, allowed: Self.thresholdKeys, path: path)
        if let value = duration(table, "network_timeout", path, positive: true) { config.networkTimeout = value }
        if let value = duration(table, "qmp_timeout", path, positive: true) { config.qmpTimeout = value }
        if let value = duration(table, "ebs_timeout", path, positive: true) { config.ebsTimeout = value }
        if let value = int(table, "consecutive_failures", path, range: 1...100) { config.consecutiveFailures = value }
        if let value = int(table, "consecutive_successes", path, range: 1...100) {
            config.consecutiveSuccesses = value
        }
        if let value = number(table, "flap_high", path, range: 0...100) { config.flapHigh = value }
        if let value = number(table, "flap_low", path, range: 0...100) { config.flapLow = value }
        if config.flapLow >= config.flapHigh {
            let key = table["flap_low"] != nil ? "flap_low" : "flap_high"
            fail(path + [key], "flap_low (\(config.flapLow)) must be less than flap_high (\(config.flapHigh))")
        }
    }

    private mutating func readAPI(_ table: TOMLTable) {
        let path = ["health", "api"]
        checkKeys(table, allowed: ["listen", "credentials_file", "credentials"], path: path)
        if let value = string(table, "listen", path) {
            if value.contains(":"), !value.hasSuffix(":") {
                config.api.listen = value
            } else {
                fail(path + ["listen"], "expected host:port, e.g. 127.0.0.1:9797, got '\(value)'")
            }
        }
        if let value = string(table, "credentials_file", path) { config.api.credentialsFile = value }
        if let credentials = self.table(table, "credentials", path) {
            for key in credentials.keys {
                if let secret = string(credentials, key, path + ["credentials"]) {
                    config.api.credentials[key] = secret
                }
            }
        }
    }

    private mutating func readInventory(_ table: TOMLTable) {
        let path = ["health", "inventory"]
        checkKeys(table, allowed: ["source", "path"], path: path)
        if let value = string(table, "source", path) {
            if let source = HealthConfig.InventorySource(rawValue: value) {
                config.inventory.source = source
            } else {
                let names = HealthConfig.InventorySource.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                fail(path + ["source"], "unknown inventory source '\(value)'; expected one of \(names)")
            }
        }
        if let value = string(table, "path", path) { config.inventory.path = value }
        if config.inventory.source == .file, config.inventory.path == nil {
            fail(path + ["source"], "source \"file\" needs [health.inventory] path")
        }
    }

    // MARK: Typed access

    private mutating func checkKeys(_ table: TOMLTable, allowed: Set<String>, path: [String]) {
        for key in table.keys.sorted() where !allowed.contains(key) {
            let known = allowed.sorted().joined(separator: ", ")
            fail(path + [key], "unknown key in [\(path.joined(separator: "."))]; known keys: \(known)",
                 code: .unknownKey)
        }
    }

    private mutating func present(_ table: TOMLTable, _ key: String, _ path: [String]) -> (any TOMLValueConvertible)? {
        guard let value = table[key] else { return nil }
        config.explicitKeys.insert((path + [key]).joined(separator: "."))
        return value
    }

    private mutating func bool(_ table: TOMLTable, _ key: String, _ path: [String]) -> Bool? {
        guard let value = present(table, key, path) else { return nil }
        if let bool = value.bool, value.type == .bool { return bool }
        fail(path + [key], "expected true or false, got \(describe(value))", code: .type)
        return nil
    }

    private mutating func string(_ table: TOMLTable, _ key: String, _ path: [String]) -> String? {
        guard let value = present(table, key, path) else { return nil }
        if value.type == .string, let string = value.string { return string }
        fail(path + [key], "expected a string, got \(describe(value))", code: .type)
        return nil
    }

    private mutating func int(_ table: TOMLTable, _ key: String, _ path: [String], range: ClosedRange<Int>) -> Int? {
        guard let value = present(table, key, path) else { return nil }
        guard value.type == .int, let int = value.int else {
            fail(path + [key], "expected an integer, got \(describe(value))", code: .type)
            return nil
        }
        guard range.contains(int) else {
            fail(path + [key], "\(int) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return int
    }

    private mutating func number(
        _ table: TOMLTable, _ key: String, _ path: [String], range: ClosedRange<Double>
    ) -> Double? {
        guard let value = present(table, key, path) else { return nil }
        let number: Double
        if value.type == .int, let int = value.int {
            number = Double(int)
        } else if value.type == .double, let double = value.double {
            number = double
        } else {
            fail(path + [key], "expected a number, got \(describe(value))", code: .type)
            return nil
        }
        guard range.contains(number) else {
            fail(path + [key], "\(number) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return number
    }

    /// A duration: `"30s"`-style string or an integer number of seconds.
    private mutating func duration(_ table: TOMLTable, _ key: String, _ path: [String], positive: Bool) -> Duration? {
        guard let value = present(table, key, path) else { return nil }
        let duration: Duration
        switch value.type {
        case .string:
            do {
                duration = try HealthDuration.parse(value.string ?? "")
            } catch {
                fail(path + [key], error.description)
                return nil
            }
        case .int:
            let seconds = value.int ?? -1
            guard seconds >= 0, seconds < 1_000_000_000 else {
                fail(path + [key], "\(seconds) is not a valid number of seconds")
                return nil
            }
            duration = .seconds(seconds)
        default:
            fail(path + [key], "expected a duration such as \"30s\" or a number of seconds, got \(describe(value))",
                 code: .type)
            return nil
        }
        if positive, duration <= .zero {
            fail(path + [key], "must be greater than zero")
            return nil
        }
        return duration
    }

    private mutating func table(_ table: TOMLTable, _ key: String, _ path: [String]) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        if value.type == .table, let table = value.table { return table }
        fail(path + [key], "expected a table, got \(describe(value))", code: .type)
        return nil
    }

    private func describe(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "a string \"\(value.string ?? "")\""
        case .int: "an integer \(value.int ?? 0)"
        case .double: "a number \(value.double ?? 0)"
        case .bool: "a boolean"
        case .table: "a table"
        case .array: "an array"
        case .date, .time, .dateTime: "a date/time"
        }
    }

    private mutating func fail(_ path: [String], _ message: String, code: CatalogueError.Code = .value) {
        let (line, column) = TOMLLocator.locate(path, in: text)
        errors.append(CatalogueError(file: file, line: line, column: column, key: path.joined(separator: "."),
                                     message: message, code: code))
    }
}

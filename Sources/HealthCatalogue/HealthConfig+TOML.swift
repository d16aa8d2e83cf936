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

    /// Reads `[health]` and its tables through ``HealthConfigKey/all``: every key known there, anything else an
    /// error naming the known ones; then the maps and the rules that tie two keys together.
    private mutating func readHealth(_ health: TOMLTable) {
        readTable(health, path: ["health"])
        let path = ["health"]
        if let table = table(health, "labels", path) {
            for name in table.keys {
                if let value = string(table, name, path + ["labels"]) { config.labels[name] = value }
            }
        }
        if let table = table(health, "probe_concurrency", path) {
            for kind in table.keys {
                if let value = int(table, kind, path + ["probe_concurrency"], range: 1...100_000) {
                    config.probeConcurrency[kind] = value
                }
            }
        }
        if let api = health["api"]?.table, let credentials = self.table(api, "credentials", path + ["api"]) {
            for key in credentials.keys {
                if let secret = string(credentials, key, path + ["api", "credentials"]) {
                    config.api.credentials[key] = secret
                }
            }
        }
        checkRelations(health)
    }

    /// Reads one table's keys and descends into its sub-tables (those of ``HealthConfigKey/tables`` and maps).
    private mutating func readTable(_ toml: TOMLTable, path: [String]) {
        let dotted = path.joined(separator: ".")
        let keys = HealthConfigKey.keys(in: dotted)
        let children = (HealthConfigKey.tables + HealthConfigKey.maps).compactMap { name -> String? in
            guard name.hasPrefix(dotted + "."), !name.dropFirst(dotted.count + 1).contains(".") else { return nil }
            return String(name.dropFirst(dotted.count + 1))
        }
        checkKeys(toml, allowed: Set(keys.map(\.name) + children), path: path)
        for key in keys { key.read(&self, toml, path) }
        for child in children where HealthConfigKey.tables.contains(dotted + "." + child) {
            if let table = table(toml, child, path) { readTable(table, path: path + [child]) }
        }
    }

    /// What one key alone cannot say: flap_low below flap_high, the membership window at least the alive window,
    /// a file inventory with its path.
    private mutating func checkRelations(_ health: TOMLTable) {
        if config.flapLow >= config.flapHigh {
            let key = health["thresholds"]?.table?["flap_low"] != nil ? "flap_low" : "flap_high"
            fail(["health", "thresholds", key],
                 "flap_low (\(config.flapLow)) must be less than flap_high (\(config.flapHigh))")
        }
        if config.peers.membershipWindow < config.peers.agentAliveWindow {
            fail(["health", "peers", "membership_window"], "membership_window must be at least agent_alive_window")
        }
        if config.inventory.source == .file, config.inventory.path == nil {
            fail(["health", "inventory", "source"], "source \"file\" needs [health.inventory] path")
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

    mutating func present(_ table: TOMLTable, _ key: String, _ path: [String]) -> (any TOMLValueConvertible)? {
        guard let value = table[key] else { return nil }
        config.explicitKeys.insert((path + [key]).joined(separator: "."))
        return value
    }

    mutating func bool(_ table: TOMLTable, _ key: String, _ path: [String]) -> Bool? {
        guard let value = present(table, key, path) else { return nil }
        if let bool = value.bool, value.type == .bool { return bool }
        fail(path + [key], "expected true or false, got \(describe(value))", code: .type)
        return nil
    }

    mutating func string(_ table: TOMLTable, _ key: String, _ path: [String]) -> String? {
        guard let value = present(table, key, path) else { return nil }
        if value.type == .string, let string = value.string { return string }
        fail(path + [key], "expected a string, got \(describe(value))", code: .type)
        return nil
    }

    mutating func int(_ table: TOMLTable, _ key: String, _ path: [String], range: ClosedRange<Int>) -> Int? {
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

    mutating func number(
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
    mutating func duration(_ table: TOMLTable, _ key: String, _ path: [String], positive: Bool) -> Duration? {
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

    mutating func table(_ table: TOMLTable, _ key: String, _ path: [String]) -> TOMLTable? {
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

    mutating func fail(_ path: [String], _ message: String, code: CatalogueError.Code = .value) {
        let (line, column) = TOMLLocator.locate(path, in: text)
        errors.append(CatalogueError(file: file, line: line, column: column, key: path.joined(separator: "."),
                                     message: message, code: code))
    }
}

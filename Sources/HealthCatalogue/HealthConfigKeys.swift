import HealthCore
import TOMLKit

/// One key of hive.toml's `[health]` section, declared once: its table and name, where its value goes in
/// ``HealthConfig``, how it is checked, and what it means. The default is the ``HealthConfig`` property's own
/// initial value, read through the key path. The reader, the unknown-key check, `validate` and the tables in
/// docs/configuration.md and docs/recovery.md all come from ``HealthConfigKey/all``.
public struct HealthConfigKey {
    /// The table, `health` or `health.nats`.
    public let table: String
    /// The key inside the table, `status_interval`.
    public let name: String
    /// The value's type as the documentation says it: `duration`, `integer 1...5`, `bool`.
    public let type: String
    /// What it means (one sentence or two, Markdown).
    public let meaning: String
    /// The default, as it would be written in hive.toml (`"60s"`, `true`, `none`).
    public let defaultValue: (HealthConfig) -> String
    let read: (inout TOMLConfigReader, TOMLTable, [String]) -> Void

    /// `health.nats.status_interval`.
    public var dottedName: String { "\(table).\(name)" }
}

extension HealthConfigKey {
    /// Every key, table by table, in the order the documentation lists them.
    public static var all: [HealthConfigKey] {
        health + thresholds + api + inventory + nats + recovery + peers
    }

    /// The tables below `[health]` that hold ``HealthConfigKey``s, and the ones read as maps (name -> value).
    static let tables = ["health", "health.thresholds", "health.api", "health.inventory", "health.nats",
                         "health.recovery", "health.peers"]
    static let maps = ["health.labels", "health.probe_concurrency", "health.api.credentials"]

    /// The keys of one table.
    public static func keys(in table: String) -> [HealthConfigKey] { all.filter { $0.table == table } }

    private static var health: [HealthConfigKey] {
        let t = "health"
        return [
            .bool(t, "enabled", \.enabled, "`false` runs no checks at all"),
            .duration(t, "check_interval", \.checkInterval, "default interval of every check; greater than zero"),
            .bool(t, "system_check_enabled", \.systemCheckEnabled, "run checks of category `system`"),
            .bool(t, "instance_check_enabled", \.instanceCheckEnabled, "run checks of category `instance`"),
            .bool(t, "ebs_check_enabled", \.ebsCheckEnabled, "run checks of category `ebs`"),
            .bool(t, "recovery_enabled", \.recoveryEnabled, "system-status recoveries run without a person "
                  + "(`[health.recovery]`, `[health.peers]`: [recovery.md](recovery.md))"),
            .string(t, "checks_dir", \.checksDirectory, "the checks.d directory", unset: "none (the CLI's `--checks`)"),
            .string(t, "environment", \.environment, "overlay applied when `--environment` is not given",
                    emptyIsUnset: true),
            .string(t, "cluster", \.cluster, "this node's cluster, matched by overrides' `cluster:` selector",
                    emptyIsUnset: true),
            .string(t, "state_dir", \.stateDirectory, "where the embedded state store keeps its file"),
            .string(t, "runtime_dir", \.runtimeDirectory, "the runtime directory; unset means `$XDG_RUNTIME_DIR`, "
                    + "else `/run/spinifex`, `~/spinifex`, `~/hive` (the first that exists), else `/tmp`",
                    unset: "Spinifex's rule"),
            .string(t, "host_root", \.hostRoot, "root under which `/proc` and `/sys` are read"),
            .duration(t, "launch_grace_period", \.launchGracePeriod,
                      "after launch, no results yet means `initializing`, not `insufficient-data`", positive: false),
            .int(t, "max_concurrency", \.maxConcurrency, 1...100_000, "probe runs in flight at once"),
        ]
    }

    private static var thresholds: [HealthConfigKey] {
        let t = "health.thresholds"
        return [
            .duration(t, "network_timeout", \.networkTimeout, "default timeout of network probes (`net.*`)"),
            .duration(t, "qmp_timeout", \.qmpTimeout, "default timeout of QMP and guest agent probes"),
            .duration(t, "ebs_timeout", \.ebsTimeout, "default timeout of EBS probes"),
            .int(t, "consecutive_failures", \.consecutiveFailures, 1...100,
                 "failures in a row that turn a check `failed`"),
            .int(t, "consecutive_successes", \.consecutiveSuccesses, 1...100,
                 "successes in a row that turn a check `passed`"),
            .number(t, "flap_high", \.flapHigh, 0...100, "percent state change at which a check starts flapping"),
            .number(t, "flap_low", \.flapLow, 0...100,
                    "percent state change below which it stops; less than `flap_high`"),
        ]
    }

    private static var api: [HealthConfigKey] {
        let t = "health.api"
        return [
            HealthConfigKey(
                table: t, name: "listen", type: "string `host:port`",
                meaning: "the EC2 Query API, `/metrics`, `/healthz`", defaultValue: { quoted($0.api.listen) },
                read: { reader, table, path in
                    guard let value = reader.string(table, "listen", path) else { return }
                    if value.contains(":"), !value.hasSuffix(":") {
                        reader.config.api.listen = value
                    } else {
                        reader.fail(path + ["listen"], "expected host:port, e.g. 127.0.0.1:9797, got '\(value)'")
                    }
                }),
            .string(t, "credentials_file", \.api.credentialsFile,
                    "a TOML file with a `[health.api.credentials]` table, kept out of hive.toml's permissions"),
        ]
    }

    private static var inventory: [HealthConfigKey] {
        let t = "health.inventory"
        let names = HealthConfig.InventorySource.allCases.map { "`\"\($0.rawValue)\"`" }
        return [
            HealthConfigKey(
                table: t, name: "source",
                type: names.dropLast().joined(separator: ", ") + " or " + (names.last ?? ""),
                meaning: "where instances and volumes come from (`hive-kv` for a `spinifex.toml`)",
                defaultValue: { quoted($0.inventory.source.rawValue) },
                read: { reader, table, path in
                    guard let value = reader.string(table, "source", path) else { return }
                    if let source = HealthConfig.InventorySource(rawValue: value) {
                        reader.config.inventory.source = source
                    } else {
                        let known = HealthConfig.InventorySource.allCases.map { "\"\($0.rawValue)\"" }
                        reader.fail(path + ["source"], "unknown inventory source '\(value)'; expected one of "
                                    + known.joined(separator: ", "))
                    }
                }),
            .string(t, "path", \.inventory.path, "the VM JSON file; required when `source = \"file\"`"),
        ]
    }

    private static var nats: [HealthConfigKey] {
        let t = "health.nats"
        return [
            .bool(t, "enabled", \.nats.enabled, "`false` keeps hive-health off NATS even when the node has a NATS host"),
            HealthConfigKey(
                table: t, name: "prefix", type: "string (one subject token)",
                meaning: "first token of every subject and bucket: `spinifex` for a `spinifex.toml`, else `hive`",
                defaultValue: { quoted($0.nats.prefix) },
                read: { reader, table, path in
                    guard let value = reader.string(table, "prefix", path) else { return }
                    if value.isEmpty || value.contains(where: { " .*>\t".contains($0) }) {
                        reader.fail(path + ["prefix"], "a prefix is one subject token (like hive or spinifex), "
                                    + "got '\(value)'")
                    } else {
                        reader.config.nats.prefix = value
                    }
                }),
            .duration(t, "status_interval", \.nats.statusInterval,
                      "full status snapshot on `<prefix>.health.status` (changes go out at once)"),
            .duration(t, "metrics_interval", \.nats.metricsInterval,
                      "CloudWatch-shaped datapoints on `<prefix>.health.metrics`"),
            .duration(t, "heartbeat_interval", \.nats.heartbeatInterval,
                      "the agent's own heartbeat, `agent.<node>` in `<prefix>-health-status`"),
            .int(t, "outbox_limit", \.nats.outboxLimit, 1...10_000_000,
                 "messages kept while NATS is unreachable; the oldest are dropped past this"),
            .bool(t, "shared_catalogue", \.nats.sharedCatalogue, "follow the shared catalogue "
                  + "(`<prefix>-health-catalog`, [fleet.md](fleet.md)): a pushed version replaces the local checks.d"),
            .int(t, "replicas", \.nats.replicas, 1...5, "replicas of every KV bucket and stream hive-health creates "
                 + "(status, votes, catalogue, recovery, the events stream): `3` on a three-server NATS cluster. One "
                 + "that exists keeps its replicas (a warning says so; see "
                 + "[nats.md](nats.md#clusters-and-replicas))"),
        ]
    }

    private static var recovery: [HealthConfigKey] {
        let t = "health.recovery"
        return [
            .bool(t, "termination_allowed", \.recovery.terminationAllowed,
                  "an instance-store instance still impaired after its reboot may be deleted without a person"),
            .duration(t, "grace_period", \.recovery.gracePeriod,
                      "after a reboot, how long the instance has to become healthy"),
            .duration(t, "step_timeout", \.recovery.stepTimeout,
                      "a stop, start or delete not confirmed by Hive within this fails the recovery"),
            .duration(t, "command_timeout", \.recovery.commandTimeout,
                      "how long Hive's reply to an `ec2.cmd.<id>` request is awaited"),
            .duration(t, "deduplication_window", \.recovery.deduplicationWindow,
                      "no second recovery of an instance within this window of the previous one", positive: false),
            .int(t, "max_per_node", \.recovery.maxPerNode, 0...10_000,
                 "automatic recoveries per node within `rate_window`; past them a person decides"),
            .int(t, "max_per_cluster", \.recovery.maxPerCluster, 0...100_000,
                 "automatic recoveries in the whole cluster within `rate_window`"),
            .duration(t, "rate_window", \.recovery.rateWindow, "the window of `max_per_node` and `max_per_cluster`"),
            .duration(t, "interval", \.recovery.interval, "how often the policy runs (and the peers vote)"),
        ]
    }

    private static var peers: [HealthConfigKey] {
        let t = "health.peers"
        return [
            .duration(t, "heartbeat_max_age", \.peers.heartbeatMaxAge,
                      "Hive's `heartbeat.<node>` older than this, and the node's agent silent: the node looks dead"),
            .duration(t, "agent_alive_window", \.peers.agentAliveWindow,
                      "agents heard within this are alive (their votes count)"),
            .duration(t, "membership_window", \.peers.membershipWindow,
                      "agents heard within this are members; the quorum is a majority of the members; at least "
                      + "`agent_alive_window`"),
        ]
    }
}

// MARK: Kinds of key

extension HealthConfigKey {
    static func bool(
        _ table: String, _ name: String, _ path: WritableKeyPath<HealthConfig, Bool>, _ meaning: String
    ) -> HealthConfigKey {
        HealthConfigKey(table: table, name: name, type: "bool", meaning: meaning,
                        defaultValue: { "`\($0[keyPath: path])`" },
                        read: { reader, toml, tablePath in
                            if let value = reader.bool(toml, name, tablePath) { reader.config[keyPath: path] = value }
                        })
    }

    static func duration(
        _ table: String, _ name: String, _ path: WritableKeyPath<HealthConfig, Duration>, _ meaning: String,
        positive: Bool = true
    ) -> HealthConfigKey {
        HealthConfigKey(table: table, name: name, type: "duration", meaning: meaning,
                        defaultValue: { quoted(HealthDuration.format($0[keyPath: path])) },
                        read: { reader, toml, tablePath in
                            if let value = reader.duration(toml, name, tablePath, positive: positive) {
                                reader.config[keyPath: path] = value
                            }
                        })
    }

    static func int(
        _ table: String, _ name: String, _ path: WritableKeyPath<HealthConfig, Int>, _ range: ClosedRange<Int>,
        _ meaning: String
    ) -> HealthConfigKey {
        HealthConfigKey(table: table, name: name, type: "integer \(range.lowerBound)...\(range.upperBound)",
                        meaning: meaning, defaultValue: { "`\($0[keyPath: path])`" },
                        read: { reader, toml, tablePath in
                            if let value = reader.int(toml, name, tablePath, range: range) {
                                reader.config[keyPath: path] = value
                            }
                        })
    }

    static func number(
        _ table: String, _ name: String, _ path: WritableKeyPath<HealthConfig, Double>, _ range: ClosedRange<Double>,
        _ meaning: String
    ) -> HealthConfigKey {
        let bounds = "\(Int(range.lowerBound))...\(Int(range.upperBound))"
        return HealthConfigKey(table: table, name: name, type: "number \(bounds)", meaning: meaning,
                               defaultValue: { "`\(formatNumber($0[keyPath: path]))`" },
                               read: { reader, toml, tablePath in
                                   if let value = reader.number(toml, name, tablePath, range: range) {
                                       reader.config[keyPath: path] = value
                                   }
                               })
    }

    static func string(
        _ table: String, _ name: String, _ path: WritableKeyPath<HealthConfig, String>, _ meaning: String
    ) -> HealthConfigKey {
        HealthConfigKey(table: table, name: name, type: "string", meaning: meaning,
                        defaultValue: { quoted($0[keyPath: path]) },
                        read: { reader, toml, tablePath in
                            if let value = reader.string(toml, name, tablePath) { reader.config[keyPath: path] = value }
                        })
    }

    /// An optional string; with `emptyIsUnset`, `""` clears it.
    static func string(
        _ table: String, _ name: String, _ path: WritableKeyPath<HealthConfig, String?>, _ meaning: String,
        unset: String = "none", emptyIsUnset: Bool = false
    ) -> HealthConfigKey {
        HealthConfigKey(table: table, name: name, type: "string", meaning: meaning,
                        defaultValue: { $0[keyPath: path].map(quoted) ?? unset },
                        read: { reader, toml, tablePath in
                            guard let value = reader.string(toml, name, tablePath) else { return }
                            reader.config[keyPath: path] = emptyIsUnset && value.isEmpty ? nil : value
                        })
    }

    static func quoted(_ text: String) -> String { "`\"\(text)\"`" }

    static func formatNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

// MARK: Documentation

extension HealthConfigKey {
    /// The Markdown table of `table`'s keys (key, type, default, meaning), as docs/configuration.md and
    /// docs/recovery.md hold it; a test keeps the documents equal to it.
    public static func markdownTable(for table: String, defaults: HealthConfig = .defaults) -> String {
        var lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
        for key in keys(in: table) {
            lines.append("| `\(key.name)` | \(key.type) | \(key.defaultValue(defaults)) | \(key.meaning) |")
        }
        return lines.joined(separator: "\n")
    }
}

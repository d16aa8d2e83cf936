import HealthCore
import Yams

/// One entry of an environment overlay's `overrides:` list, read but not yet applied.
struct OverrideSpec {
    /// `overrides[2]`.
    var key: String
    var patterns: [Located<String>]
    var settings: CommonSettings
    /// Typed per matching check, since each probe has its own parameters.
    var params: Node?
    var when: Node?
    /// `nodes:`: node names or globs; nil when the override does not select by node.
    var nodes: [Located<String>]?
    /// `labels:`: label -> value or glob, all of which must match.
    var labels: [(name: String, pattern: Located<String>)]?
    /// `cluster:`: cluster names or globs.
    var clusters: [Located<String>]?

    func matches(_ name: String) -> Bool {
        patterns.contains { Self.matches($0.value, name) }
    }

    /// Whether the node the catalogue is loaded for is one this override is meant for.
    func applies(to scope: OverlayScope) -> Bool {
        if let nodes {
            guard let node = scope.node, nodes.contains(where: { Self.matches($0.value, node) }) else { return false }
        }
        if let clusters {
            guard let cluster = scope.cluster, clusters.contains(where: { Self.matches($0.value, cluster) }) else {
                return false
            }
        }
        for label in labels ?? [] {
            guard let value = scope.labels[label.name], Self.matches(label.pattern.value, value) else { return false }
        }
        return true
    }

    /// What the override selects beyond check names, for provenance: `nodes=node-a*, labels.rack=r1`.
    var scopeDescription: String? {
        var parts: [String] = []
        if let nodes { parts.append("nodes=" + nodes.map(\.value).joined(separator: "|")) }
        if let clusters { parts.append("cluster=" + clusters.map(\.value).joined(separator: "|")) }
        for label in (labels ?? []).sorted(by: { $0.name < $1.name }) {
            parts.append("labels.\(label.name)=\(label.pattern.value)")
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    private static func matches(_ pattern: String, _ value: String) -> Bool {
        Glob.isPattern(pattern) ? Glob.matches(pattern, value) : pattern == value
    }
}

/// The node a catalogue is loaded for: what an override's `nodes:`, `labels:` and `cluster:` selectors match.
///
/// Built from hive.toml by default: `node` (or `--node`), `[health] cluster`, `[health.labels]`, plus the implicit
/// labels `region` and `az` of the node's `[nodes.<node>]` table (an explicit label of the same name wins).
public struct OverlayScope: Sendable, Hashable {
    public var node: String?
    public var labels: [String: String]
    public var cluster: String?

    public init(node: String?, labels: [String: String] = [:], cluster: String? = nil) {
        self.node = node
        self.labels = labels
        self.cluster = cluster
    }

    /// The scope hive.toml describes, for `node` (default: hive.toml's `node`).
    public init(config: HealthConfig, node: String? = nil) {
        let name = node ?? config.node
        var labels: [String: String] = [:]
        if let table = name.flatMap({ config.nodes[$0] }) {
            if !table.region.isEmpty { labels["region"] = table.region }
            if !table.availabilityZone.isEmpty { labels["az"] = table.availabilityZone }
        }
        labels.merge(config.labels) { _, explicit in explicit }
        self.init(node: name, labels: labels, cluster: config.cluster)
    }
}

/// `checks.d/environments/<name>.yaml`: per check-name overrides applied over the merged catalogue.
struct EnvironmentOverlay {
    var overrides: [OverrideSpec]

    /// Reads an overlay; nil (with errors in `reader`) when it is not well-formed.
    static func read(_ source: SourceText, reader: inout NodeReader) -> EnvironmentOverlay? {
        let root: Node?
        do {
            root = try YAMLDocument.parse(source)
        } catch {
            reader.absorb(error)
            return nil
        }
        guard let root, !NodeReader.isNull(root) else { return EnvironmentOverlay(overrides: []) }
        guard let top = reader.mapping(root, "") else { return nil }
        var list: Node?
        for entry in top {
            if CatalogueFormat.overlayFileKeys.contains(entry.key) {
                list = entry.value
            } else {
                reader.fail(entry.keyNode, entry.key, "unknown key; an environment overlay has 'overrides'",
                            code: .unknownKey)
            }
        }
        let errorsBefore = reader.errors.count
        var overrides: [OverrideSpec] = []
        if let list, !NodeReader.isNull(list), let items = reader.sequence(list, "overrides") {
            for (index, item) in items.enumerated() {
                if let spec = readOverride(item, key: "overrides[\(index)]", reader: &reader) {
                    overrides.append(spec)
                }
            }
        }
        return reader.errors.count == errorsBefore ? EnvironmentOverlay(overrides: overrides) : nil
    }

    private static func readOverride(_ node: Node, key: String, reader: inout NodeReader) -> OverrideSpec? {
        guard let entries = reader.mapping(node, key) else { return nil }
        var values: [String: (keyNode: Node, value: Node)] = [:]
        for entry in entries {
            if CatalogueFormat.overrideKeys.contains(entry.key) {
                values[entry.key] = (entry.keyNode, entry.value)
            } else {
                reader.fail(entry.keyNode, "\(key).\(entry.key)",
                            "unknown key; an override has \(CatalogueFormat.overrideKeys.joined(separator: ", "))",
                            code: .unknownKey)
            }
        }
        var patterns: [Located<String>] = []
        if let entry = values["checks"] {
            patterns = readPatterns(entry.value, key: "\(key).checks", what: "check name or glob", reader: &reader)
        } else {
            reader.fail(node, "\(key).checks", "missing required key 'checks' (a check name, glob, or list of them)",
                        code: .missingKey)
        }
        let nodes = values["nodes"].map {
            readPatterns($0.value, key: "\(key).nodes", what: "node name or glob", reader: &reader)
        }
        let clusters = values["cluster"].map {
            readPatterns($0.value, key: "\(key).cluster", what: "cluster name or glob", reader: &reader)
        }
        var labels: [(name: String, pattern: Located<String>)]?
        if let entry = values["labels"] {
            let labelsKey = "\(key).labels"
            var read: [(name: String, pattern: Located<String>)] = []
            if let entries = reader.mapping(entry.value, labelsKey) {
                for label in entries {
                    if let text = reader.string(label.value, "\(labelsKey).\(label.key)") {
                        read.append((label.key, Located(value: text, location: reader.location(label.value),
                                                        key: "\(labelsKey).\(label.key)")))
                    }
                }
                if entries.isEmpty { reader.fail(entry.value, labelsKey, "needs at least one label: value") }
            }
            labels = read
        }
        let settings = reader.commonSettings(values, key: key)
        var params = values["params"]?.value
        if let node = params {
            if NodeReader.isNull(node) {
                params = nil
            } else {
                _ = reader.mapping(node, "\(key).params")
            }
        }
        var when = values["when"]?.value
        if let node = when {
            if NodeReader.isNull(node) {
                when = nil
            } else {
                _ = reader.mapping(node, "\(key).when")
            }
        }
        return OverrideSpec(key: key, patterns: patterns, settings: settings, params: params, when: when,
                            nodes: nodes, labels: labels, clusters: clusters)
    }

    /// A string or a non-empty list of strings (names or globs), each with its location.
    private static func readPatterns(
        _ node: Node, key: String, what: String, reader: inout NodeReader
    ) -> [Located<String>] {
        var patterns: [Located<String>] = []
        if case .sequence(let sequence) = node {
            for (index, element) in sequence.enumerated() {
                if let text = reader.string(element, "\(key)[\(index)]") {
                    patterns.append(Located(value: text, location: reader.location(element), key: "\(key)[\(index)]"))
                }
            }
            if sequence.isEmpty { reader.fail(node, key, "needs at least one \(what)") }
        } else if let text = reader.string(node, key) {
            patterns.append(Located(value: text, location: reader.location(node), key: key))
        }
        return patterns
    }

    /// Applies the overrides in order to `specs`; `allNames` are every check name defined, valid or not.
    ///
    /// An override whose `nodes:`/`labels:`/`cluster:` do not select `scope` is still checked against every check it
    /// names, and the check it would make resolved with `config` (so a catalogue is validated the same on every
    /// node), but changes nothing.
    func apply(
        to specs: inout [CheckSpec], allNames: [String], scope: OverlayScope, config: HealthConfig,
        reader: inout NodeReader
    ) {
        for override in overrides {
            for pattern in override.patterns {
                let matched = Glob.isPattern(pattern.value)
                    ? allNames.contains { Glob.matches(pattern.value, $0) } : allNames.contains(pattern.value)
                if !matched {
                    reader.fail(at: pattern.location, pattern.key, "'\(pattern.value)' matches no check")
                }
            }
            let selected = override.applies(to: scope)
            for index in specs.indices where override.matches(specs[index].name.value) {
                if selected {
                    apply(override, to: &specs[index], reader: &reader)
                } else {
                    var scratch = specs[index]
                    let errorsBefore = reader.errors.count
                    apply(override, to: &scratch, reader: &reader)
                    guard reader.errors.count == errorsBefore else { continue }
                    if case .failure(let failure) = scratch.resolve(config: config) {
                        for error in failure.errors { reader.absorb(error) }
                    }
                }
            }
        }
    }

    private func apply(_ override: OverrideSpec, to spec: inout CheckSpec, reader: inout NodeReader) {
        // Params and selectors are typed per probe; an override that does not fit this check is not applied to it.
        let errorsBefore = reader.errors.count
        var params: [String: Located<ParameterValue>] = [:]
        if let node = override.params {
            params = reader.params(node, key: "\(override.key).params", descriptor: spec.descriptor,
                                   targetKind: spec.targetKind)
        }
        var when: [Located<Selector>] = []
        if let node = override.when {
            when = reader.selectors(node, key: "\(override.key).when", targetKind: spec.targetKind)
        }
        guard reader.errors.count == errorsBefore else { return }
        spec.apply(override.settings, scope: override.scopeDescription)
        for name in params.keys { spec.overrideScopes["params.\(name)"] = override.scopeDescription }
        spec.params.merge(params) { _, new in new }
        spec.when += when
    }
}

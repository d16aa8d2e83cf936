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

    func matches(_ name: String) -> Bool {
        patterns.contains { Glob.isPattern($0.value) ? Glob.matches($0.value, name) : $0.value == name }
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
            let patternsKey = "\(key).checks"
            if case .sequence(let sequence) = entry.value {
                for (index, element) in sequence.enumerated() {
                    if let text = reader.string(element, "\(patternsKey)[\(index)]") {
                        patterns.append(Located(value: text, location: reader.location(element),
                                                key: "\(patternsKey)[\(index)]"))
                    }
                }
            } else if let text = reader.string(entry.value, patternsKey) {
                patterns.append(Located(value: text, location: reader.location(entry.value), key: patternsKey))
            }
            if patterns.isEmpty, case .sequence = entry.value {
                reader.fail(entry.value, patternsKey, "needs at least one check name or glob")
            }
        } else {
            reader.fail(node, "\(key).checks", "missing required key 'checks' (a check name, glob, or list of them)",
                        code: .missingKey)
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
        return OverrideSpec(key: key, patterns: patterns, settings: settings, params: params, when: when)
    }

    /// Applies the overrides in order to `specs`; `allNames` are every check name defined, valid or not.
    func apply(to specs: inout [CheckSpec], allNames: [String], reader: inout NodeReader) {
        for override in overrides {
            for pattern in override.patterns {
                let matched = Glob.isPattern(pattern.value)
                    ? allNames.contains { Glob.matches(pattern.value, $0) } : allNames.contains(pattern.value)
                if !matched {
                    reader.fail(at: pattern.location, pattern.key, "'\(pattern.value)' matches no check")
                }
            }
            for index in specs.indices where override.matches(specs[index].name.value) {
                apply(override, to: &specs[index], reader: &reader)
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
        spec.apply(override.settings)
        spec.params.merge(params) { _, new in new }
        spec.when += when
    }
}

import HealthCore
import Yams

/// One check as written (and as overridden), each setting with where it was set; defaults come later. The settings
/// an override may change are read through (`spec.interval`).
@dynamicMemberLookup
struct CheckSpec {
    var name: Located<String>
    /// Where `probe:` was written.
    var probeLocation: SourceLocation?
    /// `checks[3]`, the prefix of this check's error keys.
    var key: String
    var descriptor: ProbeDescriptor
    var category: Located<HealthCategory>?
    var target: Located<TargetKind>?
    var settings = CommonSettings()
    var params: [String: Located<ParameterValue>] = [:]
    var when: [Located<Selector>] = []
    var description: Located<String>?
    /// Setting key -> the node selectors of the override that set it (`nodes=edge-*`), shown with its origin.
    var overrideScopes: [String: String] = [:]

    var targetKind: TargetKind { target?.value ?? descriptor.targets.first ?? .node }

    subscript<Value>(dynamicMember path: WritableKeyPath<CommonSettings, Value>) -> Value {
        get { settings[keyPath: path] }
        set { settings[keyPath: path] = newValue }
    }
}

/// The settings an override and a check share, read the same way in both.
struct CommonSettings {
    var interval: Located<Duration>?
    var timeout: Located<Duration>?
    var splay: Located<Duration>?
    var jitter: Located<Duration>?
    var consecutiveFailures: Located<Int>?
    var consecutiveSuccesses: Located<Int>?
    var flapHigh: Located<Double>?
    var flapLow: Located<Double>?
    var enabled: Located<Bool>?

    /// Each setting's key, and how an override's value replaces the one below it (false: the override has none).
    static var fields: [(key: String, apply: (inout CommonSettings, CommonSettings) -> Bool)] {
        [
            field("interval", \.interval), field("timeout", \.timeout), field("splay", \.splay),
            field("jitter", \.jitter), field("thresholds.consecutive_failures", \.consecutiveFailures),
            field("thresholds.consecutive_successes", \.consecutiveSuccesses),
            field("thresholds.flap_high", \.flapHigh), field("thresholds.flap_low", \.flapLow),
            field("enabled", \.enabled),
        ]
    }

    private static func field<Value>(
        _ key: String, _ path: WritableKeyPath<CommonSettings, Located<Value>?>
    ) -> (key: String, apply: (inout CommonSettings, CommonSettings) -> Bool) {
        (key, { settings, override in
            guard let value = override[keyPath: path] else { return false }
            settings[keyPath: path] = value
            return true
        })
    }
}

extension NodeReader {
    /// Reads one entry of `checks:`; nil (with errors recorded) when it cannot be a check.
    mutating func checkSpec(_ node: Node, key: String, registry: ProbeRegistry) -> CheckSpec? {
        guard let entries = mapping(node, key) else { return nil }
        var values: [String: (keyNode: Node, value: Node)] = [:]
        for entry in entries {
            if CatalogueFormat.checkKeys.contains(entry.key) {
                values[entry.key] = (entry.keyNode, entry.value)
            } else {
                fail(entry.keyNode, "\(key).\(entry.key)",
                     "unknown key; a check has \(CatalogueFormat.checkKeys.joined(separator: ", "))",
                     code: .unknownKey)
            }
        }
        let errorsBefore = errors.count

        var name: Located<String>?
        if let entry = values["name"] {
            if let text = string(entry.value, "\(key).name") {
                if Self.isValidName(text) {
                    name = Located(value: text, location: location(entry.value), key: "\(key).name")
                } else {
                    fail(entry.value, "\(key).name",
                         "invalid check name '\(text)': use letters, digits, '.', '-' and '_' (at most 128)")
                }
            }
        } else {
            fail(node, "\(key).name", "missing required key 'name'", code: .missingKey)
        }

        var descriptor: ProbeDescriptor?
        var probeLocation: SourceLocation?
        if let entry = values["probe"] {
            probeLocation = location(entry.value)
            if let kind = string(entry.value, "\(key).probe") {
                descriptor = registry.descriptor(kind: kind)
                if descriptor == nil {
                    fail(entry.value, "\(key).probe",
                         "unknown probe kind '\(kind)'; registered kinds: \(registry.kinds.joined(separator: ", "))")
                }
            }
        } else {
            fail(node, "\(key).probe", "missing required key 'probe'", code: .missingKey)
        }

        var category: Located<HealthCategory>?
        if let entry = values["category"], let text = string(entry.value, "\(key).category") {
            if let value = HealthCategory(rawValue: text) {
                category = Located(value: value, location: location(entry.value))
            } else {
                fail(entry.value, "\(key).category", "unknown category '\(text)'; expected system, instance or ebs")
            }
        }

        var target: Located<TargetKind>?
        if let entry = values["target"], let text = string(entry.value, "\(key).target") {
            if let value = TargetKind(rawValue: text) {
                if let descriptor, !descriptor.targets.contains(value) {
                    let supported = descriptor.targets.map(\.rawValue).joined(separator: ", ")
                    fail(entry.value, "\(key).target",
                         "probe '\(descriptor.kind)' cannot look at a \(text); it supports: \(supported)")
                } else {
                    target = Located(value: value, location: location(entry.value))
                }
            } else {
                fail(entry.value, "\(key).target", "unknown target '\(text)'; expected node, instance or volume")
            }
        }

        let common = commonSettings(values, key: key)

        var description: Located<String>?
        if let entry = values["description"], let text = string(entry.value, "\(key).description") {
            description = Located(value: text, location: location(entry.value))
        }

        guard let name, let descriptor else { return nil }
        let targetKind = target?.value ?? descriptor.targets.first ?? .node
        var spec = CheckSpec(name: name, key: key, descriptor: descriptor, category: category, target: target)
        spec.apply(common)
        spec.probeLocation = probeLocation
        spec.description = description
        if let entry = values["params"], !Self.isNull(entry.value) {
            spec.params = params(entry.value, key: "\(key).params", descriptor: descriptor, targetKind: targetKind)
        }
        for parameter in descriptor.parameters
        where parameter.required && paramsMissing(parameter.name, values["params"]) {
            fail(values["params"]?.keyNode ?? node, "\(key).params.\(parameter.name)",
                 "missing required parameter '\(parameter.name)' of probe '\(descriptor.kind)'", code: .missingKey)
        }
        if let entry = values["when"], !Self.isNull(entry.value) {
            spec.when = selectors(entry.value, key: "\(key).when", targetKind: targetKind)
        }
        return errors.count == errorsBefore ? spec : nil
    }

    private func paramsMissing(_ name: String, _ params: (keyNode: Node, value: Node)?) -> Bool {
        guard let params, case .mapping(let mapping) = params.value else { return true }
        return mapping[name] == nil
    }

    static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 128 else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)))
                || scalar == "." || scalar == "-" || scalar == "_"
        }
    }

    /// interval, timeout, splay, jitter, thresholds and enabled, as a check or an override writes them.
    mutating func commonSettings(_ values: [String: (keyNode: Node, value: Node)], key: String) -> CommonSettings {
        var settings = CommonSettings()
        func located<Value>(_ value: Value?, _ node: Node, _ key: String) -> Located<Value>? {
            value.map { Located(value: $0, location: location(node), key: key) }
        }
        func inRange(_ value: Double, _ range: ClosedRange<Double>, _ node: Node, _ key: String) -> Bool {
            guard !range.contains(value) else { return true }
            fail(node, key, Self.outOfRange(Self.format(value), range))
            return false
        }
        func read<Value>(_ name: String, _ reader: (Node, String) -> Value?) -> Located<Value>? {
            guard let entry = values[name] else { return nil }
            return located(reader(entry.value, "\(key).\(name)"), entry.value, "\(key).\(name)")
        }
        func positiveDuration(_ node: Node, _ key: String) -> Duration? {
            guard let value = duration(node, key) else { return nil }
            guard value > .zero else {
                fail(node, key, "must be greater than zero")
                return nil
            }
            return value
        }
        settings.interval = read("interval") { positiveDuration($0, $1) }
        settings.timeout = read("timeout") { positiveDuration($0, $1) }
        settings.splay = read("splay") { duration($0, $1) }
        settings.jitter = read("jitter") { duration($0, $1) }
        settings.enabled = read("enabled") { boolean($0, $1) }
        if let entry = values["thresholds"], !Self.isNull(entry.value),
            let thresholds = mapping(entry.value, "\(key).thresholds")
        {
            let prefix = "\(key).thresholds"
            for item in thresholds {
                let itemKey = "\(prefix).\(item.key)"
                switch item.key {
                case "consecutive_failures", "consecutive_successes":
                    guard let value = integer(item.value, itemKey),
                        inRange(Double(value), 1...100, item.value, itemKey)
                    else { continue }
                    let found = located(value, item.value, itemKey)
                    if item.key == "consecutive_failures" {
                        settings.consecutiveFailures = found
                    } else {
                        settings.consecutiveSuccesses = found
                    }
                case "flap_high", "flap_low":
                    guard let value = number(item.value, itemKey), inRange(value, 0...100, item.value, itemKey)
                    else { continue }
                    if item.key == "flap_high" {
                        settings.flapHigh = located(value, item.value, itemKey)
                    } else {
                        settings.flapLow = located(value, item.value, itemKey)
                    }
                default:
                    fail(item.keyNode, itemKey,
                         "unknown key; thresholds has \(CatalogueFormat.thresholdKeys.joined(separator: ", "))",
                         code: .unknownKey)
                }
            }
        }
        return settings
    }

    // MARK: params

    /// Reads `params:` against the probe's parameter specs.
    mutating func params(
        _ node: Node, key: String, descriptor: ProbeDescriptor, targetKind: TargetKind
    ) -> [String: Located<ParameterValue>] {
        guard let entries = mapping(node, key) else { return [:] }
        var values: [String: Located<ParameterValue>] = [:]
        for entry in entries {
            let entryKey = "\(key).\(entry.key)"
            guard let spec = descriptor.parameter(entry.key) else {
                let known = descriptor.parameters.map(\.name)
                let hint = known.isEmpty ? "it takes no parameters" : "it takes \(known.joined(separator: ", "))"
                fail(entry.keyNode, entryKey, "unknown parameter of probe '\(descriptor.kind)'; \(hint)",
                     code: .unknownKey)
                continue
            }
            if let value = parameter(entry.value, key: entryKey, spec: spec, targetKind: targetKind) {
                values[entry.key] = Located(value: value, location: location(entry.value), key: entryKey)
            }
        }
        return values
    }

    /// One parameter value, typed by its spec, with its range and templates checked.
    mutating func parameter(_ node: Node, key: String, spec: ParameterSpec, targetKind: TargetKind) -> ParameterValue? {
        let value: ParameterValue?
        switch spec.type {
        case .string: value = string(node, key).map(ParameterValue.string)
        case .integer: value = integer(node, key).map(ParameterValue.integer)
        case .number: value = number(node, key).map(ParameterValue.number)
        case .boolean: value = boolean(node, key).map(ParameterValue.boolean)
        case .duration: value = duration(node, key).map(ParameterValue.duration)
        case .stringList: value = stringList(node, key, allowSingle: false).map(ParameterValue.stringList)
        case .stringMap: value = stringMap(node, key).map(ParameterValue.stringMap)
        }
        guard let value else { return nil }
        if let range = spec.range {
            let number: Double? =
                switch value {
                case .integer(let int): Double(int)
                case .number(let double): double
                case .duration(let duration): duration.seconds
                default: nil
                }
            if let number, !range.contains(number) {
                fail(node, key, Self.outOfRange("\(value)", range))
                return nil
            }
        }
        let fields: [String]
        do {
            fields = try value.templateFields()
        } catch {
            fail(node, key, "bad template: \(error.message)")
            return nil
        }
        for field in fields where !TargetFields.isKnown(field, for: targetKind) {
            fail(node, key, "unknown template field '{{\(field)}}' for a \(targetKind.rawValue) target")
            return nil
        }
        return value
    }

    /// `<value> is out of range <low>...<high>`, the bounds written as whole numbers where they are.
    private static func outOfRange(_ value: String, _ range: ClosedRange<Double>) -> String {
        "\(value) is out of range \(format(range.lowerBound))...\(format(range.upperBound))"
    }

    private static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    // MARK: when

    /// Reads `when:`: field -> pattern, list of patterns, or `{not: pattern(s)}`.
    mutating func selectors(_ node: Node, key: String, targetKind: TargetKind) -> [Located<Selector>] {
        guard let entries = mapping(node, key) else { return [] }
        var selectors: [Located<Selector>] = []
        for entry in entries {
            let entryKey = "\(key).\(entry.key)"
            guard TargetFields.isKnown(entry.key, for: targetKind) else {
                fail(entry.keyNode, entryKey, "unknown field '\(entry.key)' for a \(targetKind.rawValue) target")
                continue
            }
            var patternsNode = entry.value
            var negated = false
            if case .mapping = entry.value, let inner = mapping(entry.value, entryKey) {
                guard inner.count == 1, let first = inner.first, first.key == CatalogueFormat.negationKey else {
                    fail(entry.value, entryKey, "a selector mapping must be {not: pattern or [patterns]}")
                    continue
                }
                patternsNode = first.value
                negated = true
            }
            guard let patterns = stringList(patternsNode, entryKey, allowSingle: true) else { continue }
            guard !patterns.isEmpty else {
                fail(patternsNode, entryKey, "needs at least one pattern")
                continue
            }
            selectors.append(Located(value: Selector(field: entry.key, patterns: patterns, negated: negated),
                                     location: location(entry.keyNode), key: entryKey))
        }
        return selectors
    }
}

extension CheckSpec {
    init(name: Located<String>, key: String, descriptor: ProbeDescriptor, category: Located<HealthCategory>?,
         target: Located<TargetKind>?) {
        self.name = name
        self.key = key
        self.descriptor = descriptor
        self.category = category
        self.target = target
    }

    /// Applies an override's settings, leaving the rest; `scope` describes its node selectors (nil: for every node).
    mutating func apply(_ override: CommonSettings, scope: String? = nil) {
        for field in CommonSettings.fields where field.apply(&settings, override) { overrideScopes[field.key] = scope }
    }
}

/// The type of a probe parameter, as written in checks.d.
public enum ParameterType: String, Sendable, Hashable, Codable, CaseIterable {
    case string
    case integer
    case number
    case boolean
    /// `500ms`, `30s`, `1m30s`, or a bare number of seconds.
    case duration
    case stringList = "string-list"
    case stringMap = "string-map"
}

/// A parameter value: from checks.d (strings may hold `{{...}}` templates), or resolved for one target.
public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case duration(Duration)
    case stringList([String])
    case stringMap([String: String])

    public var type: ParameterType {
        switch self {
        case .string: .string
        case .integer: .integer
        case .number: .number
        case .boolean: .boolean
        case .duration: .duration
        case .stringList: .stringList
        case .stringMap: .stringMap
        }
    }

    public var description: String {
        switch self {
        case .string(let value): value
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .boolean(let value): String(value)
        case .duration(let value): HealthDuration.format(value)
        case .stringList(let value): "[" + value.joined(separator: ", ") + "]"
        case .stringMap(let value):
            "{" + value.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// A JSON-compatible value (durations as their checks.d string).
    public var jsonValue: any Sendable {
        switch self {
        case .string(let value): value
        case .integer(let value): value
        case .number(let value): value
        case .boolean(let value): value
        case .duration(let value): HealthDuration.format(value)
        case .stringList(let value): value
        case .stringMap(let value): value
        }
    }

    /// Fills `{{...}}` templates in string values for one target.
    public func rendered(_ fields: TargetFields) throws(Template.Error) -> ParameterValue {
        switch self {
        case .string(let value):
            return .string(try Template(value).render(fields))
        case .stringList(let values):
            var output: [String] = []
            output.reserveCapacity(values.count)
            for value in values { output.append(try Template(value).render(fields)) }
            return .stringList(output)
        case .stringMap(let values):
            var output: [String: String] = [:]
            for (key, value) in values { output[key] = try Template(value).render(fields) }
            return .stringMap(output)
        default:
            return self
        }
    }

    /// Every template field the value references.
    public func templateFields() throws(Template.Error) -> [String] {
        switch self {
        case .string(let value): return try Template(value).fieldNames
        case .stringList(let values):
            var names: [String] = []
            for value in values { names += try Template(value).fieldNames }
            return names
        case .stringMap(let values):
            var names: [String] = []
            for value in values.values { names += try Template(value).fieldNames }
            return names
        default: return []
        }
    }
}

/// One parameter a probe accepts: its name, type, default and a line of documentation.
public struct ParameterSpec: Sendable, Hashable {
    public var name: String
    public var type: ParameterType
    public var required: Bool
    /// The value used when a check does not set the parameter; string defaults may be templates.
    public var defaultValue: ParameterValue?
    public var doc: String
    /// For numeric parameters, the inclusive range of accepted values.
    public var range: ClosedRange<Double>?

    public init(
        _ name: String, _ type: ParameterType, required: Bool = false, default defaultValue: ParameterValue? = nil,
        range: ClosedRange<Double>? = nil, doc: String
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.range = range
        self.doc = doc
    }
}

/// A probe's parameters for one run: defaults applied and templates filled, so every lookup is typed.
public struct ProbeParameters: Sendable, Hashable {
    public var values: [String: ParameterValue]

    public init(_ values: [String: ParameterValue] = [:]) { self.values = values }

    public subscript(name: String) -> ParameterValue? { values[name] }

    public func string(_ name: String) -> String? {
        if case .string(let value)? = values[name] { return value }
        return nil
    }

    public func integer(_ name: String) -> Int? {
        switch values[name] {
        case .integer(let value)?: value
        case .number(let value)? where value == value.rounded(): Int(exactly: value)
        default: nil
        }
    }

    public func number(_ name: String) -> Double? {
        switch values[name] {
        case .number(let value)?: value
        case .integer(let value)?: Double(value)
        default: nil
        }
    }

    public func boolean(_ name: String) -> Bool? {
        if case .boolean(let value)? = values[name] { return value }
        return nil
    }

    public func duration(_ name: String) -> Duration? {
        if case .duration(let value)? = values[name] { return value }
        return nil
    }

    public func stringList(_ name: String) -> [String]? {
        if case .stringList(let value)? = values[name] { return value }
        return nil
    }

    public func stringMap(_ name: String) -> [String: String]? {
        if case .stringMap(let value)? = values[name] { return value }
        return nil
    }
}

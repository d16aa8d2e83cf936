import HealthCore

/// One parameter of a probe declared once: its ``spec`` goes into the probe's descriptor, and
/// ``CheckParameters/value(_:)`` reads it typed. A parameter declared with a default reads as a plain value (the
/// default is applied by the engine's plan, never repeated in the probe); one without reads as an optional.
///
/// ```swift
/// static let path: ProbeParameter<String> = .string("path", default: "/etc/site-ok", doc: "The marker file.")
/// static let descriptor = ProbeDescriptor(kind: "site.x", category: .system, targets: [.node],
///     parameters: [path.spec], summary: "...")
/// ...
/// let path = try parameters.value(Self.path)
/// ```
public struct ProbeParameter<Value: Sendable>: Sendable {
    /// What the descriptor lists: name, type, default, range and documentation.
    public let spec: ParameterSpec
    private let reader: @Sendable (CheckParameters) throws(ParameterProblem) -> Value

    init(_ spec: ParameterSpec, reader: @escaping @Sendable (CheckParameters) throws(ParameterProblem) -> Value) {
        self.spec = spec
        self.reader = reader
    }

    /// The parameter's name in checks.d.
    public var name: String { spec.name }

    func read(_ parameters: CheckParameters) throws(ParameterProblem) -> Value { try reader(parameters) }

    /// A parameter with a default (or required): nil after the defaults are applied is a problem.
    fileprivate static func defaulted<Raw>(
        _ spec: ParameterSpec, _ read: @escaping @Sendable (CheckParameters, String) throws(ParameterProblem) -> Raw?
    ) -> ProbeParameter<Raw> {
        ProbeParameter<Raw>(spec) { parameters throws(ParameterProblem) -> Raw in
            guard let value = try read(parameters, spec.name) else {
                throw ParameterProblem(name: spec.name, reason: "required but not set")
            }
            return value
        }
    }

    /// A parameter without a default: nil when the check does not set it.
    fileprivate static func optional<Raw>(
        _ spec: ParameterSpec, _ read: @escaping @Sendable (CheckParameters, String) throws(ParameterProblem) -> Raw?
    ) -> ProbeParameter<Raw?> {
        ProbeParameter<Raw?>(spec) { parameters throws(ParameterProblem) -> Raw? in try read(parameters, spec.name) }
    }
}

extension ProbeParameter where Value == String {
    /// A string parameter with a default (which may hold `{{...}}` templates).
    public static func string(_ name: String, default value: String, doc: String) -> Self {
        defaulted(ParameterSpec(name, .string, default: .string(value), doc: doc)) { p, n throws(ParameterProblem) in
            try p.string(n)
        }
    }

    /// A string parameter the check must set.
    public static func string(required name: String, doc: String) -> Self {
        defaulted(ParameterSpec(name, .string, required: true, doc: doc)) { p, n throws(ParameterProblem) in
            try p.string(n)
        }
    }
}

extension ProbeParameter where Value == String? {
    /// A string parameter without a default.
    public static func string(_ name: String, doc: String) -> Self {
        optional(ParameterSpec(name, .string, doc: doc)) { p, n throws(ParameterProblem) in try p.string(n) }
    }
}

extension ProbeParameter where Value == Int {
    /// An integer parameter with a default and, optionally, the range of accepted values.
    public static func integer(
        _ name: String, default value: Int, range: ClosedRange<Double>? = nil, doc: String
    ) -> Self {
        ranged(name, default: value, range: range, doc: doc)
    }
}

extension ProbeParameter where Value == Int? {
    /// An integer parameter without a default (unset: the probe's check is off).
    public static func integer(_ name: String, range: ClosedRange<Double>? = nil, doc: String) -> Self {
        optional(ParameterSpec(name, .integer, range: range, doc: doc)) { p, n throws(ParameterProblem) in
            try p.integer(n)
        }
    }
}

extension ProbeParameter where Value == Double {
    /// A number parameter with a default and, optionally, the range of accepted values.
    public static func number(
        _ name: String, default value: Double, range: ClosedRange<Double>? = nil, doc: String
    ) -> Self {
        ranged(name, default: value, range: range, doc: doc)
    }
}

/// The values a range applies to: integers and numbers, declared and read the same way.
private protocol RangedValue: Sendable {
    static var type: ParameterType { get }
    var parameterValue: ParameterValue { get }
    static func read(_ parameters: CheckParameters, _ name: String) throws(ParameterProblem) -> Self?
}

extension Int: RangedValue {
    fileprivate static var type: ParameterType { .integer }
    fileprivate var parameterValue: ParameterValue { .integer(self) }
    fileprivate static func read(_ parameters: CheckParameters, _ name: String) throws(ParameterProblem) -> Int? {
        try parameters.integer(name)
    }
}

extension Double: RangedValue {
    fileprivate static var type: ParameterType { .number }
    fileprivate var parameterValue: ParameterValue { .number(self) }
    fileprivate static func read(_ parameters: CheckParameters, _ name: String) throws(ParameterProblem) -> Double? {
        try parameters.number(name)
    }
}

extension ProbeParameter where Value: RangedValue {
    /// An integer or number parameter with a default and, optionally, the range of accepted values.
    fileprivate static func ranged(
        _ name: String, default value: Value, range: ClosedRange<Double>?, doc: String
    ) -> Self {
        defaulted(ParameterSpec(name, Value.type, default: value.parameterValue, range: range, doc: doc)) {
            p, n throws(ParameterProblem) in try Value.read(p, n)
        }
    }
}

extension ProbeParameter where Value == Bool {
    /// A boolean parameter with a default.
    public static func boolean(_ name: String, default value: Bool, doc: String) -> Self {
        defaulted(ParameterSpec(name, .boolean, default: .boolean(value), doc: doc)) { p, n throws(ParameterProblem) in
            try p.boolean(n)
        }
    }
}

extension ProbeParameter where Value == Duration {
    /// A duration parameter (`500ms`, `30s`, a number of seconds) with a default.
    public static func duration(_ name: String, default value: Duration, doc: String) -> Self {
        defaulted(ParameterSpec(name, .duration, default: .duration(value), doc: doc)) {
            p, n throws(ParameterProblem) in try p.duration(n)
        }
    }
}

extension ProbeParameter where Value == Duration? {
    /// A duration parameter without a default.
    public static func duration(_ name: String, doc: String) -> Self {
        optional(ParameterSpec(name, .duration, doc: doc)) { p, n throws(ParameterProblem) in try p.duration(n) }
    }
}

extension ProbeParameter where Value == [String] {
    /// A list of strings with a default.
    public static func stringList(_ name: String, default value: [String], doc: String) -> Self {
        defaulted(ParameterSpec(name, .stringList, default: .stringList(value), doc: doc)) {
            p, n throws(ParameterProblem) in try p.stringList(n)
        }
    }
}

extension ProbeParameter where Value == [String: String] {
    /// A map of strings with a default.
    public static func stringMap(_ name: String, default value: [String: String], doc: String) -> Self {
        defaulted(ParameterSpec(name, .stringMap, default: .stringMap(value), doc: doc)) {
            p, n throws(ParameterProblem) in try p.stringMap(n)
        }
    }
}

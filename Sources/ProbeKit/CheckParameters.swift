import HealthCore

/// A run's parameters read against the probe's descriptor: a missing value falls back to the spec's default (its
/// templates rendered for the request's target, through ``HealthCore/ParameterSpec/resolved(given:fields:)`` like
/// the engine's plan), a value of the wrong type or outside the spec's range is a ``HealthCore/ParameterProblem``.
/// Read declared parameters with ``value(_:)``; the untyped readers serve probes that list their specs by hand.
public struct CheckParameters: Sendable {
    public var values: ProbeParameters
    public var descriptor: ProbeDescriptor
    /// Fills templates of defaults the engine did not apply.
    public var fields: TargetFields

    public init(_ request: ProbeRequest, descriptor: ProbeDescriptor, runtimeDirectory: String) {
        self.values = request.parameters
        self.descriptor = descriptor
        self.fields = TargetFields(target: request.target, node: request.node, runtimeDirectory: runtimeDirectory)
    }

    /// The parameters of `request` for the probe described by `descriptor`, in the daemon's `environment`.
    public init(_ request: ProbeRequest, descriptor: ProbeDescriptor, environment: ProbeEnvironment) {
        self.init(request, descriptor: descriptor, runtimeDirectory: environment.runtimeDirectory)
    }

    /// The value of a declared parameter: its default when the check does not set it, nil only for an optional one.
    public func value<Value>(_ parameter: ProbeParameter<Value>) throws(ParameterProblem) -> Value {
        try parameter.read(self)
    }

    private func value(_ name: String) throws(ParameterProblem) -> ParameterValue? {
        // Requests built by the engine's plan have their defaults already; this fills them for any other caller.
        if let value = values[name] { return value }
        let spec = descriptor.parameter(name)
        guard let value = try spec?.resolved(given: nil, fields: fields) else {
            if spec?.required == true { throw ParameterProblem(name: name, reason: "required but not set") }
            return nil
        }
        return value
    }

    private func checkRange(_ name: String, _ number: Double) throws(ParameterProblem) {
        guard number.isFinite else { throw ParameterProblem(name: name, reason: "not a finite number") }
        if let range = descriptor.parameter(name)?.range, !range.contains(number) {
            throw ParameterProblem(
                name: name, reason: "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
    }

    private func mismatch(_ name: String, _ value: ParameterValue, _ expected: ParameterType) -> ParameterProblem {
        ParameterProblem(name: name, reason: "expected \(expected.rawValue), got \(value.type.rawValue) '\(value)'")
    }

    public func number(_ name: String) throws(ParameterProblem) -> Double? {
        guard let value = try value(name) else { return nil }
        let number: Double
        switch value {
        case .number(let v): number = v
        case .integer(let v): number = Double(v)
        default: throw mismatch(name, value, .number)
        }
        try checkRange(name, number)
        return number
    }

    public func integer(_ name: String) throws(ParameterProblem) -> Int? {
        guard let value = try value(name) else { return nil }
        let integer: Int
        switch value {
        case .integer(let v): integer = v
        case .number(let v):
            guard let exact = Int(exactly: v) else { throw mismatch(name, value, .integer) }
            integer = exact
        default: throw mismatch(name, value, .integer)
        }
        try checkRange(name, Double(integer))
        return integer
    }

    public func boolean(_ name: String) throws(ParameterProblem) -> Bool? {
        guard let value = try value(name) else { return nil }
        guard case .boolean(let flag) = value else { throw mismatch(name, value, .boolean) }
        return flag
    }

    public func duration(_ name: String) throws(ParameterProblem) -> Duration? {
        guard let value = try value(name) else { return nil }
        switch value {
        case .duration(let duration): return duration
        case .integer(let seconds) where seconds >= 0: return .seconds(seconds)
        case .number(let seconds) where seconds >= 0 && seconds.isFinite: return .milliseconds(Int64(seconds * 1000))
        case .string(let text):
            do {
                return try HealthDuration.parse(text)
            } catch {
                throw ParameterProblem(name: name, reason: "\(error)")
            }
        default: throw mismatch(name, value, .duration)
        }
    }

    public func string(_ name: String) throws(ParameterProblem) -> String? {
        guard let value = try value(name) else { return nil }
        guard case .string(let text) = value else { throw mismatch(name, value, .string) }
        return text
    }

    public func stringList(_ name: String) throws(ParameterProblem) -> [String]? {
        guard let value = try value(name) else { return nil }
        switch value {
        case .stringList(let list): return list
        default: throw mismatch(name, value, .stringList)
        }
    }

    public func stringMap(_ name: String) throws(ParameterProblem) -> [String: String]? {
        guard let value = try value(name) else { return nil }
        guard case .stringMap(let map) = value else { throw mismatch(name, value, .stringMap) }
        return map
    }
}

/// A parameter a probe cannot use: wrong type, out of range, a default whose template does not render, or required
/// and missing.
public struct ParameterProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var reason: String

    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    public var description: String { "parameter '\(name)': \(reason)" }
}

extension ParameterSpec {
    /// The one place a parameter's default is applied: the check's `given` value, else the spec's default, with its
    /// `{{...}}` templates filled for one target; nil when neither is set (a required parameter is the probe's to
    /// refuse). The engine's plan and a probe's typed parameters both resolve through here.
    public func resolved(given: ParameterValue?, fields: TargetFields) throws(ParameterProblem) -> ParameterValue? {
        guard let value = given ?? defaultValue else { return nil }
        do {
            return try value.rendered(fields)
        } catch {
            let origin = given == nil ? "default '\(value)': " : ""
            throw ParameterProblem(name: name, reason: origin + error.message)
        }
    }
}

extension ProbeDescriptor {
    /// Every parameter of this probe resolved for one target (``ParameterSpec/resolved(given:fields:)``), and the
    /// first problem met; parameters without a value or a default are left out.
    public func resolveParameters(_ given: [String: ParameterValue], fields: TargetFields)
        -> (parameters: ProbeParameters, problem: ParameterProblem?)
    {
        var values: [String: ParameterValue] = [:]
        var problem: ParameterProblem?
        for spec in parameters {
            do {
                if let value = try spec.resolved(given: given[spec.name], fields: fields) { values[spec.name] = value }
            } catch {
                problem = problem ?? error
            }
        }
        return (ProbeParameters(values), problem)
    }
}

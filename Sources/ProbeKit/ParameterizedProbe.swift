import HealthCore

/// A probe that reads its parameters before it looks: ``observe(_:)`` is written once, here (the run's parameters
/// read against the probe's descriptor, a problem with them the run's unknown result), and the probe writes
/// ``settings(_:request:)`` and ``observe(_:with:)``.
///
/// ```swift
/// public struct SiteProbe: ParameterizedProbe {
///     public typealias Settings = (path: String, limit: Int)
///     public let environment: ProbeEnvironment
///     public init(environment: ProbeEnvironment) { self.environment = environment }
///     public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
///         (try parameters.value(Self.path), try parameters.value(Self.maxBytes))
///     }
///     public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation { ... }
/// }
/// ```
public protocol ParameterizedProbe: Probe {
    /// What a run reads of its parameters (often a tuple or a small struct).
    associatedtype Settings

    /// The daemon's environment: the runtime directory that fills the defaults' templates, the shared clients.
    var environment: ProbeEnvironment { get }

    /// Reads the run's settings; what it throws (a ``HealthCore/ParameterProblem``, a bad path) makes the run
    /// unknown with the error's description.
    func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings

    /// Looks at the target with the settings read, like ``HealthCore/Probe/observe(_:)``.
    func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation
}

extension ParameterizedProbe {
    public func observe(_ request: ProbeRequest) async -> Observation {
        let parameters = CheckParameters(request, descriptor: Self.descriptor, environment: environment)
        let settings: Settings
        do {
            settings = try self.settings(parameters, request: request)
        } catch {
            return .unknown("\(error)")
        }
        return await observe(request, with: settings)
    }
}

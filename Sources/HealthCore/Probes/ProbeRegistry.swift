/// The probe kinds known to this build, generated at build time from the probe sources.
public struct ProbeRegistry: Sendable {
    /// Two probe types claim the same kind.
    public struct DuplicateKindError: Error, Sendable, CustomStringConvertible {
        public var kind: String
        public var description: String { "probe kind '\(kind)' is registered twice" }
    }

    public let types: [any Probe.Type]
    private let byKind: [String: any Probe.Type]

    public init(_ types: [any Probe.Type]) throws(DuplicateKindError) {
        var byKind: [String: any Probe.Type] = [:]
        for type in types {
            let kind = type.descriptor.kind
            guard byKind[kind] == nil else { throw DuplicateKindError(kind: kind) }
            byKind[kind] = type
        }
        self.types = types.sorted { $0.descriptor.kind < $1.descriptor.kind }
        self.byKind = byKind
    }

    /// Every registered kind, sorted.
    public var kinds: [String] { types.map { $0.descriptor.kind } }

    public var descriptors: [ProbeDescriptor] { types.map { $0.descriptor } }

    public func descriptor(kind: String) -> ProbeDescriptor? { byKind[kind]?.descriptor }

    /// Creates one instance of every probe.
    public func instantiate(environment: ProbeEnvironment) -> [String: any Probe] {
        var probes: [String: any Probe] = [:]
        for (kind, type) in byKind { probes[kind] = type.init(environment: environment) }
        return probes
    }

    /// This registry plus `others` (a site's probes); a kind registered twice is an error.
    public func merging(_ others: [any Probe.Type]) throws(DuplicateKindError) -> ProbeRegistry {
        try ProbeRegistry(types + others)
    }
}

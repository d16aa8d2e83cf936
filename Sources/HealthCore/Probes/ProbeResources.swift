import Synchronization

/// Long-lived clients that probes share (the QMP connection pool, ICMP pingers, OVSDB monitors): one of each per
/// daemon, not per process. The daemon builds one ``ProbeEnvironment`` and so one set, which every probe's copy of
/// the environment shares; a test's environment has its own, so tests do not share sockets through globals.
///
/// A resource is made on first use by the `make` closure of ``shared(_:key:make:)`` and the same one is returned
/// after; ``provide(_:key:)`` puts one in ahead of use.
public final class ProbeResources: Sendable {
    private struct Key: Hashable {
        var type: ObjectIdentifier
        var key: String
    }

    private let entries = Mutex<[Key: any Sendable]>([:])

    public init() {}

    /// The resource of type `Resource` under `key` (one per namespace, per socket...), made by `make` the first time.
    ///
    /// - Important: `make` runs under the set's lock: it must only construct the resource, never use the set.
    public func shared<Resource: Sendable>(
        _ type: Resource.Type = Resource.self, key: String = "", make: () -> Resource
    ) -> Resource {
        let identity = Key(type: ObjectIdentifier(type), key: key)
        return entries.withLock { entries in
            if let existing = entries[identity] as? Resource { return existing }
            let resource = make()
            entries[identity] = resource
            return resource
        }
    }

    /// Puts `resource` in under `key`, replacing any made before (a test's own pool, a configured client).
    public func provide<Resource: Sendable>(_ resource: Resource, key: String = "") {
        entries.withLock { $0[Key(type: ObjectIdentifier(Resource.self), key: key)] = resource }
    }

    /// Every resource of type `Resource` made or provided so far (shutdown, tests).
    public func all<Resource: Sendable>(_ type: Resource.Type = Resource.self) -> [Resource] {
        entries.withLock { entries in
            entries.filter { $0.key.type == ObjectIdentifier(type) }.compactMap { $0.value as? Resource }
        }
    }
}

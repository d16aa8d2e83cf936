import Foundation
import HealthCore

/// What the API knows of one instance: its three categories (from the evaluator), its scheduled events and the node
/// that checks it.
public struct InstanceStatusView: Sendable, Hashable {
    public var health: InstanceHealth
    public var events: [ScheduledEvent]
    /// The node whose agent checks the instance (nil when the source does not say).
    public var node: String?

    public init(health: InstanceHealth, events: [ScheduledEvent] = [], node: String? = nil) {
        self.health = health
        self.events = events
        self.node = node
    }

    public var instanceID: String { health.instanceID }
}

/// Where DescribeInstanceStatus gets its instances: the daemon's own view, or the fleet's from the state store.
///
/// Tests feed thousands of instances through a source of their own, without running any probe.
///
/// - Important: ``instanceStatuses()`` is called once per request; a source that is costly to read (a KV watch)
///   should cache for a moment.
public protocol InstanceStatusSource: Sendable {
    /// Every instance the API answers for, in any state, sorted by instance id: a lookup by id is a binary search
    /// and a page a slice, so a source sorts once per change, not per request.
    func instanceStatuses() async throws -> [InstanceStatusView]

    /// The same instances with every check of their categories (the fleet page shows them; no EC2 answer does). A
    /// source whose ``instanceStatuses()`` already has them need not implement it.
    func instanceDetails() async throws -> [InstanceStatusView]
}

extension InstanceStatusSource {
    public func instanceDetails() async throws -> [InstanceStatusView] { try await instanceStatuses() }
}

/// A fixed list of instances (tests, benchmarks).
public struct StaticStatusSource: InstanceStatusSource {
    public let views: [InstanceStatusView]
    public init(_ views: [InstanceStatusView]) { self.views = views.sorted { $0.instanceID < $1.instanceID } }
    public func instanceStatuses() async throws -> [InstanceStatusView] { views }
}

/// Reads a source through a closure (tests); what it returns is sorted by id on each read.
public struct ClosureStatusSource: InstanceStatusSource {
    let body: @Sendable () async throws -> [InstanceStatusView]
    public init(_ body: @escaping @Sendable () async throws -> [InstanceStatusView]) { self.body = body }
    public func instanceStatuses() async throws -> [InstanceStatusView] {
        try await body().sorted { $0.instanceID < $1.instanceID }
    }
}

extension CategoryStatus {
    /// EC2's detail status of the `reachability` detail for this category's summary.
    var reachability: DetailStatus? {
        switch status {
        case .ok: .passed
        case .impaired: .failed
        case .insufficientData: .insufficientData
        case .initializing: .initializing
        case .notApplicable: nil
        }
    }
}

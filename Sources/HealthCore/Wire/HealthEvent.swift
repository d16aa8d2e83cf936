import Foundation

/// One transition of one check, as published on `hive.health.events` (DESIGN §6).
public struct HealthEvent: Sendable, Hashable, Codable {
    /// Stable for the same transition, so JetStream's `Nats-Msg-Id` de-duplication can drop repeats.
    public var eventID: String
    public var node: String
    /// Nil for the node's own checks.
    public var instanceID: String?
    public var category: HealthCategory
    public var check: String
    public var probe: String
    public var target: String
    public var from: DetailStatus
    public var to: DetailStatus
    public var at: Date
    public var reason: String
    public var flapping: Bool

    public init(
        node: String, instanceID: String?, category: HealthCategory, check: String, probe: String, target: String,
        transition: CheckTransition
    ) {
        self.node = node
        self.instanceID = instanceID
        self.category = category
        self.check = check
        self.probe = probe
        self.target = target
        self.from = transition.from
        self.to = transition.to
        self.at = transition.at
        self.reason = transition.reason
        self.flapping = transition.flapping
        let millis = Int64((transition.at.timeIntervalSince1970 * 1000).rounded())
        let flag = transition.flappingChanged ? (transition.flapping ? "+flap" : "-flap") : ""
        self.eventID = "\(node)/\(check)/\(target)/\(transition.from.rawValue)>\(transition.to.rawValue)\(flag)@\(millis)"
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case node
        case instanceID = "instance"
        case category, check, probe, target, from, to, at, reason, flapping
    }
}

import Foundation
import HealthCore
import Synchronization

/// One `Filter.N` of DescribeInstanceStatus: a name AWS documents for the call and its values (any may match; `*`
/// and `?` are wildcards).
public struct StatusFilter: Sendable, Hashable {
    /// The filter names of DescribeInstanceStatus in botocore 1.43's EC2 model.
    public enum Name: String, Sendable, Hashable, CaseIterable {
        case availabilityZone = "availability-zone"
        case availabilityZoneID = "availability-zone-id"
        case eventCode = "event.code"
        case eventDescription = "event.description"
        case eventInstanceEventID = "event.instance-event-id"
        case eventNotAfter = "event.not-after"
        case eventNotBefore = "event.not-before"
        case eventNotBeforeDeadline = "event.not-before-deadline"
        case instanceStateCode = "instance-state-code"
        case instanceStateName = "instance-state-name"
        case instanceStatusReachability = "instance-status.reachability"
        case instanceStatusStatus = "instance-status.status"
        case operatorManaged = "operator.managed"
        case operatorPrincipal = "operator.principal"
        case systemStatusReachability = "system-status.reachability"
        case systemStatusStatus = "system-status.status"
        case attachedEBSStatusStatus = "attached-ebs-status.status"
        case attachedEBSStatusReachability = "attached-ebs-status.reachability"
    }

    public var name: Name
    public var values: [String]

    public init(name: Name, values: [String]) {
        self.name = name
        self.values = values
    }

    /// True when any value matches the instance's field (for events: any event's).
    public func matches(_ view: InstanceStatusView) -> Bool {
        let health = view.health
        switch name {
        case .availabilityZone: return any(health.availabilityZone)
        case .availabilityZoneID: return any(AvailabilityZoneID.of(health.availabilityZone))
        // No instance is managed by a service provider here: `managed` is false and there is no principal.
        case .operatorManaged: return any(OperatorView.unmanaged.managed ? "true" : "false")
        case .operatorPrincipal: return any(OperatorView.unmanaged.principal)
        case .instanceStateCode: return any(String(health.state.ec2Code))
        case .instanceStateName: return any(health.state.ec2Name)
        case .instanceStatusStatus: return any(health.instance.status.rawValue)
        case .instanceStatusReachability: return any(health.instance.reachability?.rawValue)
        case .systemStatusStatus: return any(health.system.status.rawValue)
        case .systemStatusReachability: return any(health.system.reachability?.rawValue)
        case .attachedEBSStatusStatus: return any(health.ebs.status.rawValue)
        case .attachedEBSStatusReachability: return any(health.ebs.reachability?.rawValue)
        case .eventCode: return view.events.contains { any($0.code.rawValue) }
        case .eventDescription: return view.events.contains { any($0.description) }
        case .eventInstanceEventID: return view.events.contains { any($0.instanceEventID) }
        case .eventNotAfter: return view.events.contains { anyDate($0.notAfter) }
        case .eventNotBefore: return view.events.contains { anyDate($0.notBefore) }
        case .eventNotBeforeDeadline: return view.events.contains { anyDate($0.notBeforeDeadline) }
        }
    }

    private func any(_ field: String?) -> Bool {
        guard let field else { return false }
        return values.contains { Glob.matches($0, field) }
    }

    /// A date filter matches the same instant (any ISO 8601 spelling) or, as text, the rendered timestamp.
    private func anyDate(_ date: Date?) -> Bool {
        guard let date else { return false }
        let rendered = EC2Timestamp.format(date)
        return values.contains { value in
            if let parsed = EC2Timestamp.parse(value) { return abs(parsed.timeIntervalSince(date)) < 0.001 }
            return Glob.matches(value, rendered)
        }
    }
}

/// EC2's timestamps: ISO 8601 in UTC with milliseconds, `2026-11-29T19:48:40.000Z`.
public enum EC2Timestamp {
    public static func format(_ date: Date) -> String { RFC3339.format(date) }

    /// Accepts ISO 8601 with or without fractional seconds.
    public static func parse(_ text: String) -> Date? {
        guard text.utf8.count <= 64 else { return nil }
        return RFC3339.parse(text)
    }
}

/// EC2's `AvailabilityZoneId` of a zone name: the region's short form (the first word's two letters, the others' first,
/// digits kept:
/// `us-east-1` is `use1`) and `-az` with the zone letter's ordinal (`us-east-1a` is `use1-az1`). AWS maps names to ids
/// per account; Hive has one mapping, this one.
public enum AvailabilityZoneID {
    /// Zones already derived: a node has a handful, and each page of DescribeInstanceStatus asks for every item's.
    private static let known = Mutex<[String: String?]>([:])

    public static func of(_ zone: String) -> String? {
        if let id = known.withLock({ $0[zone] }) { return id }
        let id = derive(zone)
        known.withLock { if $0.count < 1024 { $0[zone] = id } }
        return id
    }

    static func derive(_ zone: String) -> String? {
        guard let letter = zone.unicodeScalars.last, ("a"..."z").contains(letter), zone.utf8.count > 1 else {
            return nil
        }
        let words = zone.dropLast().split(separator: "-")
        let short = words.enumerated().map { index, word in
            word.allSatisfy(\.isNumber) ? String(word) : String(word.prefix(index == 0 ? 2 : 1))
        }.joined()
        return "\(short)-az\(letter.value - 96)"
    }
}

/// EC2's `Operator` of an instance (`OperatorResponse`): the service provider that manages it, if any.
public struct OperatorView: Sendable, Hashable {
    public var managed: Bool
    public var principal: String?

    /// Hive's instances: none is managed by a service provider.
    public static let unmanaged = OperatorView(managed: false, principal: nil)
}

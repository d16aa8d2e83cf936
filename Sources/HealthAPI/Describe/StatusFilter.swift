import Foundation
import HealthCore

/// One `Filter.N` of DescribeInstanceStatus: a name AWS documents for the call and its values (any may match; `*`
/// and `?` are wildcards).
public struct StatusFilter: Sendable, Hashable {
    /// The filter names AWS documents for DescribeInstanceStatus.
    public enum Name: String, Sendable, Hashable, CaseIterable {
        case availabilityZone = "availability-zone"
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
        case .eventNotBefore, .eventNotBeforeDeadline: return view.events.contains { anyDate($0.notBefore) }
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

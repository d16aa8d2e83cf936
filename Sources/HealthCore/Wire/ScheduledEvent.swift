import Foundation

/// An EC2 scheduled event of an instance, as DescribeInstanceStatus shows it in `eventsSet` (e.g. a pending
/// recovery). One type for the recovery policy that makes them and the EC2 API that shows them.
public struct ScheduledEvent: Sendable, Hashable, Codable {
    /// AWS's event codes.
    public struct Code: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public static let instanceReboot = Code(rawValue: "instance-reboot")
        public static let systemReboot = Code(rawValue: "system-reboot")
        public static let systemMaintenance = Code(rawValue: "system-maintenance")
        public static let instanceRetirement = Code(rawValue: "instance-retirement")
        public static let instanceStop = Code(rawValue: "instance-stop")
    }

    /// EC2's `InstanceEventId`.
    public var instanceEventID: String
    /// The instance the event is for.
    public var instanceID: String
    public var code: Code
    public var description: String
    public var notBefore: Date?
    public var notAfter: Date?
    /// EC2's `NotBeforeDeadline`: the latest the event's start may be moved to (nil: none).
    public var notBeforeDeadline: Date?

    public init(
        instanceEventID: String, instanceID: String, code: Code, description: String, notBefore: Date?,
        notAfter: Date?, notBeforeDeadline: Date? = nil
    ) {
        self.instanceEventID = instanceEventID
        self.instanceID = instanceID
        self.code = code
        self.description = description
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.notBeforeDeadline = notBeforeDeadline
    }
}

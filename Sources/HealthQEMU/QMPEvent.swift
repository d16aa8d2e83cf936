import Foundation
import HealthCore

/// An asynchronous event QEMU sent on its monitor (`SHUTDOWN`, `STOP`, `RESUME`, `GUEST_PANICKED`...).
public struct QMPEvent: Sendable, Hashable {
    /// The event's name, e.g. `STOP`.
    public var name: String
    /// Its `data` member (null when it has none).
    public var data: QMPValue
    /// QEMU's timestamp of the event.
    public var timestamp: Date?
    /// When hive-health received it.
    public var receivedAt: Date

    public init(name: String, data: QMPValue = .null, timestamp: Date? = nil, receivedAt: Date = Date()) {
        self.name = name
        self.data = data
        self.timestamp = timestamp
        self.receivedAt = receivedAt
    }

    init?(_ message: QMPValue, receivedAt: Date = Date()) {
        guard let name = message["event"]?.string else { return nil }
        self.name = name
        self.data = message["data"] ?? .null
        if let seconds = message["timestamp"]?["seconds"]?.number,
            let microseconds = message["timestamp"]?["microseconds"]?.number
        {
            self.timestamp = Date(timeIntervalSince1970: seconds + microseconds / 1_000_000)
        }
        self.receivedAt = receivedAt
    }
}

import Foundation
import HealthCore

/// What the fleet page reads from `GET /fleet.json`: every instance with its categories, checks, messages,
/// ImpairedSince, node and zone, and the recent transitions.
public struct FleetDocument: Sendable, Codable, Hashable {
    /// One check of a category.
    public struct Check: Sendable, Codable, Hashable {
        public var name: String
        public var target: String
        public var status: String
        public var message: String
        public var observedAt: Date?
    }

    /// One category of an instance.
    public struct Category: Sendable, Codable, Hashable {
        public var name: String
        public var status: String
        public var impairedSince: Date?
        public var checks: [Check]
    }

    /// One instance.
    public struct Instance: Sendable, Codable, Hashable {
        public var id: String
        public var state: String
        public var zone: String
        public var node: String
        /// The worst of its categories: what the page groups and filters by.
        public var status: String
        public var categories: [Category]
    }

    public var generatedAt: Date
    public var instances: [Instance]
    public var transitions: [FleetFeed.Transition]

    /// Worst first: the order of the page's groups.
    static let severity: [SummaryStatus] = [.impaired, .insufficientData, .initializing, .ok, .notApplicable]

    public init(views: [InstanceStatusView], transitions: [FleetFeed.Transition], at: Date) {
        generatedAt = at
        self.transitions = transitions
        instances = views.map { view in
            let health = view.health
            let categories = HealthCategory.allCases.map { name -> Category in
                let category = health[name]
                return Category(
                    name: name.rawValue, status: category.status.rawValue, impairedSince: category.impairedSince,
                    checks: category.checks.map {
                        Check(
                            name: $0.name, target: $0.target, status: $0.status.rawValue, message: $0.message,
                            observedAt: $0.observedAt)
                    })
            }
            let statuses = HealthCategory.allCases.map { health[$0].status }
            let worst = Self.severity.first { statuses.contains($0) } ?? .notApplicable
            return Instance(
                id: health.instanceID, state: health.state.rawValue, zone: health.availabilityZone,
                node: view.node ?? "", status: worst.rawValue, categories: categories)
        }
    }

    /// The JSON of the page (and of every `GET /events` message): ISO 8601 dates.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

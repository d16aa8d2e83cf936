import Foundation
import HealthCore

/// One change of one category of one instance (ok -> impaired, impaired -> ok, ...), as published on
/// `<prefix>.health.events` beside the per-check ``HealthEvent``s, with `"type": "category-transition"`.
public struct CategoryEvent: Sendable, Hashable, Codable {
    /// A check that decided the new status, as it stood then.
    public struct DecidingCheck: Sendable, Hashable, Codable {
        public var name: String
        public var target: String
        public var status: DetailStatus
        public var message: String
    }

    /// Stable for the same change, so JetStream's `Nats-Msg-Id` de-duplication drops repeats.
    public var eventID: String
    public var type = "category-transition"
    public var node: String
    public var instanceID: String
    public var category: HealthCategory
    public var from: SummaryStatus
    public var to: SummaryStatus
    public var at: Date
    public var impairedSince: Date?
    /// The failed checks when impaired, the checks without a verdict when insufficient-data, all checks otherwise.
    public var checks: [DecidingCheck]

    public init(
        node: String, instanceID: String, category: HealthCategory, from: SummaryStatus, to status: CategoryStatus,
        at: Date
    ) {
        self.node = node
        self.instanceID = instanceID
        self.category = category
        self.from = from
        self.to = status.status
        self.at = at
        self.impairedSince = status.impairedSince
        let deciding: [CheckStatus] =
            switch status.status {
            case .impaired: status.checks.filter { $0.status == .failed }
            case .insufficientData: status.checks.filter { $0.status == .insufficientData }
            case .initializing: status.checks.filter { $0.status == .initializing }
            case .ok, .notApplicable: status.checks
            }
        checks = deciding.map { DecidingCheck(name: $0.name, target: $0.target, status: $0.status, message: $0.message) }
        let millis = Int64((at.timeIntervalSince1970 * 1000).rounded())
        eventID = "\(node)/\(instanceID)/\(category.rawValue)/\(from.rawValue)>\(status.status.rawValue)@\(millis)"
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case type, node
        case instanceID = "instance"
        case category, from, to, at, checks
        case impairedSince = "impaired_since"
    }
}

/// Finds the category changes between successive reports: the first report (and an instance's first appearance)
/// only sets the baseline, so a restart does not announce every category again.
public struct CategoryTransitions: Sendable {
    private var last: [String: [HealthCategory: SummaryStatus]] = [:]
    private var started = false

    public init() {}

    /// The changes since the previous report. `checkEvents` (drained with it) date each change: an impaired
    /// category at its ImpairedSince, another at the latest transition of one of its checks, else at `now`, so the
    /// same change computed twice has the same ``CategoryEvent/eventID``. `details`, given a report of statuses alone
    /// (``Evaluator/statusView()``), brings the checks of the instances that changed, asked for once per call.
    public mutating func update(
        report: HealthReport, checkEvents: [HealthEvent], now: Date,
        details: ((Set<String>) -> HealthReport)? = nil
    ) -> [CategoryEvent] {
        var latest: [String: Date] = [:]
        for event in checkEvents {
            guard let instance = event.instanceID else { continue }
            let key = instance + "/" + event.category.rawValue
            latest[key] = max(latest[key] ?? event.at, event.at)
        }
        var current: [String: [HealthCategory: SummaryStatus]] = [:]
        current.reserveCapacity(report.instances.count)
        var changes: [(instanceID: String, category: HealthCategory, from: SummaryStatus, to: CategoryStatus, at: Date)] = []
        for health in report.instances {
            var statuses: [HealthCategory: SummaryStatus] = [:]
            for category in HealthCategory.allCases {
                let status = health[category]
                statuses[category] = status.status
                guard started, let before = last[health.instanceID]?[category], before != status.status else {
                    continue
                }
                let at =
                    status.status == .impaired
                    ? status.impairedSince ?? now
                    : latest[health.instanceID + "/" + category.rawValue] ?? now
                changes.append((health.instanceID, category, before, status, at))
            }
            current[health.instanceID] = statuses
        }
        last = current
        started = true
        guard !changes.isEmpty else { return [] }
        var checked: [String: InstanceHealth] = [:]
        if let details {
            for health in details(Set(changes.map(\.instanceID))).instances { checked[health.instanceID] = health }
        }
        return changes.map { change in
            var status = change.to
            if let detail = checked[change.instanceID] { status.checks = detail[change.category].checks }
            return CategoryEvent(
                node: report.node.name, instanceID: change.instanceID, category: change.category, from: change.from,
                to: status, at: change.at)
        }
    }
}

import Foundation

/// Folds check statuses into EC2's summary status of a category (DESIGN §1).
public enum Aggregator {
    /// Any `failed` -> `impaired` (ImpairedSince the earliest failing streak); else any `insufficient-data` ->
    /// `insufficient-data`; else any `initializing` -> `initializing`; else `ok`. A category that does not apply
    /// (instance not running, no volumes, category disabled) or has no checks is `not-applicable`.
    public static func summarize(_ checks: [CheckStatus], applicable: Bool = true) -> CategoryStatus {
        guard applicable, !checks.isEmpty else { return CategoryStatus(status: .notApplicable, checks: checks) }
        var tally = Tally()
        for check in checks { tally.add(check.status, impairedSince: check.impairedSince) }
        var summary = tally.summary(applicable: true)
        summary.checks = checks.sorted { ($0.name, $0.target) < ($1.name, $1.target) }
        return summary
    }

    /// The rule of ``summarize(_:applicable:)`` over check statuses one at a time, without their list: for a view
    /// of statuses alone.
    public struct Tally: Sendable {
        private var failedSince: Date?
        private var anyChecks = false, anyFailed = false, anyInsufficient = false, anyInitializing = false

        public init() {}

        public mutating func add(_ status: DetailStatus, impairedSince: Date?) {
            anyChecks = true
            switch status {
            case .failed:
                anyFailed = true
                if let since = impairedSince {
                    failedSince = failedSince.map { min($0, since) } ?? since
                }
            case .insufficientData: anyInsufficient = true
            case .initializing: anyInitializing = true
            case .passed: break
            }
        }

        /// The category's status, without its checks.
        public func summary(applicable: Bool) -> CategoryStatus {
            guard applicable, anyChecks else { return CategoryStatus(status: .notApplicable) }
            if anyFailed { return CategoryStatus(status: .impaired, impairedSince: failedSince) }
            if anyInsufficient { return CategoryStatus(status: .insufficientData) }
            if anyInitializing { return CategoryStatus(status: .initializing) }
            return CategoryStatus(status: .ok)
        }
    }

    /// Whether a category applies to an instance: it runs, the category is switched on, and for EBS it has volumes.
    public static func applies(_ category: HealthCategory, to instance: InstanceInfo, enabled: Set<HealthCategory>) -> Bool {
        instance.state == .running && enabled.contains(category) && (category != .ebs || !instance.volumes.isEmpty)
    }

    /// The three categories of one instance.
    ///
    /// - Parameters:
    ///   - nodeChecks: the node's system checks; they apply to every instance on the node.
    ///   - checks: the instance's own checks and those of its volumes, with their category.
    ///   - enabled: categories switched off in hive.toml are `not-applicable`.
    public static func instanceHealth(
        _ instance: InstanceInfo, nodeChecks: [CheckStatus], checks: [(HealthCategory, CheckStatus)],
        enabled: Set<HealthCategory> = Set(HealthCategory.allCases)
    ) -> InstanceHealth {
        var byCategory: [HealthCategory: [CheckStatus]] = [:]
        for (category, check) in checks { byCategory[category, default: []].append(check) }
        let system = summarize(
            nodeChecks + (byCategory[.system] ?? []), applicable: applies(.system, to: instance, enabled: enabled))
        let guest = summarize(byCategory[.instance] ?? [], applicable: applies(.instance, to: instance, enabled: enabled))
        let ebs = summarize(byCategory[.ebs] ?? [], applicable: applies(.ebs, to: instance, enabled: enabled))
        return InstanceHealth(
            instanceID: instance.id, state: instance.state, availabilityZone: instance.availabilityZone,
            system: system, instance: guest, ebs: ebs)
    }
}

extension HealthReport {
    /// The `check` / `status` exit code: 0 all passed, 1 something failed, 3 only insufficient data.
    public var exitCode: Int32 {
        // Checks in a category that does not apply (stopped instance, switched off) do not count.
        let categories = [node.system] + instances.flatMap { [$0.system, $0.instance, $0.ebs] }
        let statuses = categories.filter { $0.status != .notApplicable }.flatMap(\.checks).map(\.status)
        if statuses.contains(.failed) { return 1 }
        if statuses.contains(.insufficientData) { return 3 }
        return 0
    }
}

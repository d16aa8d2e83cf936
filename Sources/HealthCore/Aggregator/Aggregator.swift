import Foundation

/// Folds check statuses into EC2's summary status of a category (DESIGN §1).
public enum Aggregator {
    /// Any `failed` -> `impaired` (ImpairedSince the earliest failing streak); else any `insufficient-data` ->
    /// `insufficient-data`; else any `initializing` -> `initializing`; else `ok`. A category that does not apply
    /// (instance not running, no volumes, category disabled) or has no checks is `not-applicable`.
    public static func summarize(_ checks: [CheckStatus], applicable: Bool = true) -> CategoryStatus {
        guard applicable, !checks.isEmpty else { return CategoryStatus(status: .notApplicable, checks: checks) }
        var failedSince: Date?
        var anyFailed = false, anyInsufficient = false, anyInitializing = false
        for check in checks {
            switch check.status {
            case .failed:
                anyFailed = true
                if let since = check.impairedSince {
                    failedSince = failedSince.map { min($0, since) } ?? since
                }
            case .insufficientData: anyInsufficient = true
            case .initializing: anyInitializing = true
            case .passed: break
            }
        }
        let sorted = checks.sorted { ($0.name, $0.target) < ($1.name, $1.target) }
        if anyFailed { return CategoryStatus(status: .impaired, impairedSince: failedSince, checks: sorted) }
        if anyInsufficient { return CategoryStatus(status: .insufficientData, checks: sorted) }
        if anyInitializing { return CategoryStatus(status: .initializing, checks: sorted) }
        return CategoryStatus(status: .ok, checks: sorted)
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
        let running = instance.state == .running
        var byCategory: [HealthCategory: [CheckStatus]] = [:]
        for (category, check) in checks { byCategory[category, default: []].append(check) }
        let system = summarize(
            nodeChecks + (byCategory[.system] ?? []), applicable: running && enabled.contains(.system))
        let guest = summarize(byCategory[.instance] ?? [], applicable: running && enabled.contains(.instance))
        let ebs = summarize(
            byCategory[.ebs] ?? [], applicable: running && enabled.contains(.ebs) && !instance.volumes.isEmpty)
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

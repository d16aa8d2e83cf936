import Foundation
import HealthCore

/// Puts check statuses together into the report of the node and its instances.
public enum ReportBuilder {
    /// - Parameters:
    ///   - entries: one status per job; node jobs feed the node's system category and every instance's.
    public static func build(
        node: NodeInfo, instances: [InstanceInfo], entries: [(job: Job, status: CheckStatus)],
        enabled: Set<HealthCategory>
    ) -> HealthReport {
        var nodeChecks: [CheckStatus] = []
        var byInstance: [String: [(HealthCategory, CheckStatus)]] = [:]
        for entry in entries {
            if let instanceID = entry.job.instanceID {
                byInstance[instanceID, default: []].append((entry.job.check.category, entry.status))
            } else {
                nodeChecks.append(entry.status)
            }
        }
        let nodeHealth = nodeHealth(node, checks: nodeChecks, enabled: enabled)
        let instanceHealth = instances.sorted { $0.id < $1.id }.map { instance in
            Aggregator.instanceHealth(
                instance, nodeChecks: nodeChecks, checks: byInstance[instance.id] ?? [], enabled: enabled)
        }
        return HealthReport(node: nodeHealth, instances: instanceHealth)
    }

    /// The node's own entry: its system checks.
    public static func nodeHealth(_ node: NodeInfo, checks: [CheckStatus], enabled: Set<HealthCategory>) -> NodeHealth {
        NodeHealth(name: node.name, system: Aggregator.summarize(checks, applicable: enabled.contains(.system)))
    }

    /// The raw report of one run of each job (`hive-health check`): thresholds do not apply, each check shows what
    /// this run saw (unknown shows as insufficient-data).
    public static func raw(
        plan: Plan, results: [JobResult], at: Date, enabled: Set<HealthCategory>
    ) -> HealthReport {
        let entries = results.map { result -> (job: Job, status: CheckStatus) in
            let status: DetailStatus =
                switch result.observation.outcome {
                case .passed: .passed
                case .failed: .failed
                case .unknown: .insufficientData
                }
            return (
                result.job,
                CheckStatus(
                    name: result.job.check.name, probe: result.job.check.probe, target: result.job.target.id,
                    status: status, message: result.observation.message, observedAt: at,
                    impairedSince: status == .failed ? at : nil, values: result.observation.values)
            )
        }
        return build(node: plan.node, instances: plan.instances, entries: entries, enabled: enabled)
    }
}

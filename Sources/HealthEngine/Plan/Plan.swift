import HealthCore

/// Every job to run: each enabled check times each target it applies to (DESIGN §1).
public struct Plan: Sendable {
    public var node: NodeInfo
    public var instances: [InstanceInfo]
    public var jobs: [Job]

    public init(node: NodeInfo, instances: [InstanceInfo], jobs: [Job]) {
        self.node = node
        self.instances = instances
        self.jobs = jobs
    }

    /// Builds the plan.
    ///
    /// Node checks get the node; instance checks every running instance; volume checks every volume of every
    /// running instance. A check's `when` selectors filter targets; categories switched off in hive.toml are left
    /// out, and so are checks of probes that need NATS (``ProbeDescriptor/requiresNATS``) when `natsConfigured` is
    /// false. Parameters get the probe's defaults, then their templates are filled for the target
    /// (``ProbeDescriptor/resolveParameters(_:fields:)``, the one place defaults are applied).
    public static func build(
        checks: [CheckDefinition], registry: ProbeRegistry, node: NodeInfo, instances: [InstanceInfo],
        runtimeDirectory: String, enabledCategories: Set<HealthCategory> = Set(HealthCategory.allCases),
        natsConfigured: Bool = true
    ) -> Plan {
        let running = instances.filter { $0.state == .running }
        // Each target made once and shared by the jobs of every check on it (a target is one reference).
        let nodeTargets: [Target] = [.node(node)]
        let instanceTargets: [Target] = running.map { .instance($0) }
        let volumeTargets: [Target] = running.flatMap { instance in instance.volumes.map { .volume($0, of: instance) } }
        var jobs: [Job] = []
        for check in checks where check.enabled && enabledCategories.contains(check.category) {
            guard let descriptor = registry.descriptor(kind: check.probe) else { continue }
            if descriptor.requiresNATS, !natsConfigured { continue }
            let shared = Job.SharedCheck(check)
            let targets =
                switch check.target {
                case .node: nodeTargets
                case .instance: instanceTargets
                case .volume: volumeTargets
                }
            for target in targets {
                let fields = TargetFields(target: target, node: node, runtimeDirectory: runtimeDirectory)
                guard check.applies(to: fields) else { continue }
                let resolved = descriptor.resolveParameters(check.params, fields: fields)
                jobs.append(
                    Job(
                        shared: shared, target: target, parameters: resolved.parameters,
                        parameterError: resolved.problem?.description))
            }
        }
        return Plan(node: node, instances: instances, jobs: jobs)
    }
}

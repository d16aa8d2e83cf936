import HealthNATS

extension HealthSubjects {
    /// Peers' opinions and verdicts on dead nodes: `vote.<node>.<voter>`, `dead.<node>`.
    public var votesBucket: String { "\(prefix)-health-votes" }
    /// Recovery records: `recovery.<instance>` (the current one), `history.<record-id>` (finished ones).
    public var recoveryBucket: String { "\(prefix)-health-recovery" }

    /// Hive's instance command subject (DESIGN §5).
    public func command(instance: String) -> String { "ec2.cmd.\(instance)" }
}

import Foundation
import HealthCore
import ProbeKit

/// `hive.vm-health`: what Spinifex's own daemon knows of the VM, from the `health` block of its record
/// (spinifex/vm/vm.go `InstanceHealthState` at ddf22cac). The daemon polls `query-status` on the control monitor it
/// holds, which hive-health never touches, and keeps crash bookkeeping.
///
/// Failed while Spinifex marks the VM impaired (`impaired_since` set after its QMP failure limit) and for
/// `crash_window` after a crash (`last_crash_time`); passed otherwise, with its counters as values. Instances whose
/// record has no `health` block do not get this check (`instance.hive_health` selector).
public struct HiveVMHealthProbe: ParameterizedProbe {
    static let crashWindow: ProbeParameter<Duration> = .duration(
        "crash_window", default: .seconds(600),
        doc: "A crash Spinifex recorded fails the check for this long after it.")

    public static let descriptor = ProbeDescriptor(
        kind: "hive.vm-health", category: .instance, targets: [.instance], parameters: [crashWindow.spec],
        summary: "Spinifex's own view of the VM (its record's health block): impaired_since, recent crashes")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// A run reads its crash window.
    public func observe(_ request: ProbeRequest, with window: Duration) async -> Observation {
        guard let health = request.target.instance?.hiveHealth else {
            return .unknown("the VM record of \(request.target.id) has no health block")
        }
        return Self.judge(health, crashWindow: window)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Duration {
        try parameters.value(Self.crashWindow)
    }

    static func judge(_ health: InstanceInfo.HiveVMHealth, crashWindow: Duration, now: Date = Date())
        -> Observation
    {
        let values: [String: Double] = [
            "qmp_consecutive_failures": Double(health.qmpConsecutiveFailures),
            "crash_count": Double(health.crashCount), "restart_count": Double(health.restartCount),
        ]
        if let since = health.impairedSince {
            return .failed(
                "Spinifex marks the VM impaired since \(RFC3339Text.format(since)) "
                    + "(\(health.qmpConsecutiveFailures) QMP failures in a row on its monitor)", values: values)
        }
        if let crash = health.lastCrashTime, now.timeIntervalSince(crash) <= crashWindow.seconds {
            let reason = health.lastCrashReason.map { ": \($0.prefix(200))" } ?? ""
            return .failed(
                "QEMU crashed at \(RFC3339Text.format(crash))\(reason) (crash \(health.crashCount), "
                    + "restarted \(health.restartCount) times)", values: values)
        }
        return .passed(
            "Spinifex: \(health.qmpConsecutiveFailures) QMP failures, \(health.crashCount) crashes", values: values)
    }
}

import Foundation
import HealthCore

/// Small fixture targets shared by the template, selector and aggregator tests.
enum Fixture {
    static let node = NodeInfo(
        name: "node-a", region: "ap-southeast-2", availabilityZone: "ap-southeast-2a",
        labels: ["rack": "r12", "tier": "gold"])

    static let bootVolume = VolumeInfo(
        id: "vol-0aa", nbdURI: "nbd:unix:/run/hive/vol-0aa.sock", deviceName: "/dev/vda", boot: true)
    static let dataVolume = VolumeInfo(id: "vol-0bb", nbdURI: "nbd://127.0.0.1:10809/vol-0bb", deviceName: "/dev/vdb")

    static func instance(
        id: String = "i-0123456789abcdef0", state: InstanceState = .running, volumes: [VolumeInfo]? = nil,
        labels: [String: String] = ["env": "prod", "team": "storage"], telemetry: String? = nil
    ) -> InstanceInfo {
        var instance = InstanceInfo(
            id: id, state: state, node: "node-a", availabilityZone: "ap-southeast-2a",
            qmpSocket: "/run/hive/qmp-\(id).sock", telemetryQMPSocket: telemetry,
            guestAgentSocket: "/run/hive/qga-\(id).sock", pidFile: "/run/hive/\(id).pid",
            serialSocket: "/run/hive/serial-\(id).sock", consoleLogPath: "/run/hive/console-\(id).log",
            eniID: "eni-0123456789abcdef0", eniMAC: "02:00:00:aa:bb:cc", privateIP: "10.0.0.5",
            volumes: volumes ?? [bootVolume, dataVolume], labels: labels)
        // Fully described: an agent channel, and Spinifex's health block.
        instance.hasGuestAgent = true
        instance.hiveHealth = InstanceInfo.HiveVMHealth()
        return instance
    }

    static func fields(_ target: Target, runtimeDirectory: String = "/run/hive") -> TargetFields {
        TargetFields(target: target, node: node, runtimeDirectory: runtimeDirectory)
    }
}

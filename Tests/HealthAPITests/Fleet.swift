import Foundation
import HealthAPI
import HealthCore

/// A made-up fleet for the API tests: every state, status and category varies with the index.
enum Fleet {
    static let impairedSince = Date(timeIntervalSince1970: 1_795_000_000)
    static let eventStart = Date(timeIntervalSince1970: 1_796_000_000)

    static func id(_ index: Int) -> String {
        let hex = String(index, radix: 16)
        return "i-" + String(repeating: "0", count: 17 - hex.count) + hex
    }

    static func view(_ index: Int) -> InstanceStatusView {
        let state: InstanceState = index % 10 == 0 ? .stopped : index % 10 == 1 ? .pending : .running
        let running = state == .running
        func category(_ status: SummaryStatus) -> CategoryStatus {
            guard running else { return .notApplicable }
            return CategoryStatus(status: status, impairedSince: status == .impaired ? impairedSince : nil)
        }
        let system: SummaryStatus = index % 7 == 0 ? .impaired : .ok
        let instance: SummaryStatus =
            index % 5 == 0 ? .insufficientData : index % 5 == 1 ? .initializing : index % 11 == 0 ? .impaired : .ok
        let ebs: SummaryStatus = index % 4 == 0 ? .notApplicable : index % 13 == 0 ? .impaired : .ok
        let health = InstanceHealth(
            instanceID: id(index), state: state,
            availabilityZone: ["us-east-1a", "us-east-1b", "us-east-1c"][index % 3],
            system: category(system), instance: category(instance), ebs: category(ebs))
        var events: [ScheduledEvent] = []
        if index % 50 == 2 {
            events.append(
                ScheduledEvent(
                    instanceEventID: "instance-event-\(String(index, radix: 16))", instanceID: id(index),
                    code: "system-reboot",
                    description: "Recovery of \(id(index)) on another node",
                    notBefore: eventStart.addingTimeInterval(Double(index)),
                    notAfter: eventStart.addingTimeInterval(Double(index) + 3600),
                    notBeforeDeadline: index % 100 == 2 ? eventStart.addingTimeInterval(Double(index) + 86400) : nil))
        }
        return InstanceStatusView(health: health, events: events)
    }

    static func views(_ count: Int) -> [InstanceStatusView] { (0..<count).map(view) }

    /// What a client should see of each instance, for the python checks to compute expectations from.
    static func fixtureJSON(_ views: [InstanceStatusView]) throws -> Data {
        func category(_ c: CategoryStatus) -> [String: Any] {
            let reach: String? =
                switch c.status {
                case .ok: "passed"
                case .impaired: "failed"
                case .insufficientData: "insufficient-data"
                case .initializing: "initializing"
                case .notApplicable: nil
                }
            return ["status": c.status.rawValue, "reachability": reach as Any]
        }
        let instances: [[String: Any]] = views.map { view in
            let h = view.health
            return [
                "id": h.instanceID, "az": h.availabilityZone,
                "az_id": AvailabilityZoneID.of(h.availabilityZone) as Any, "state_code": h.state.ec2Code,
                "state_name": h.state.ec2Name,
                "system": category(h.system), "instance": category(h.instance), "ebs": category(h.ebs),
                "events": view.events.map { event in
                    [
                        "id": event.instanceEventID, "code": event.code.rawValue, "description": event.description,
                        "not_before": EC2Timestamp.format(event.notBefore!),
                        "not_after": EC2Timestamp.format(event.notAfter!),
                        "not_before_deadline": event.notBeforeDeadline.map(EC2Timestamp.format) as Any,
                    ]
                },
            ]
        }
        return try JSONSerialization.data(withJSONObject: ["instances": instances])
    }
}

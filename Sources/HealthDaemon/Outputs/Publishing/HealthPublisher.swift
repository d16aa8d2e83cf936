import Foundation
import HealthCore
import HealthEngine
import HealthNATS
import Logging
import Synchronization

/// Turns the evaluator's output into the messages of DESIGN §6 and queues them in an ``Outbox``:
/// status (changes and snapshots), transition events per check and per category (JetStream, `Nats-Msg-Id` = their
/// event id) and
/// CloudWatch-shaped metrics.
public final class HealthPublisher: Sendable {
    public let subjects: HealthSubjects
    public let outbox: Outbox
    private let lastPublished = Mutex<[String: StatusSignature]>([:])
    private let logger: Logger

    public init(subjects: HealthSubjects, outbox: Outbox, logger: Logger) {
        self.subjects = subjects
        self.outbox = outbox
        self.logger = logger
    }

    /// The events stream: every `<prefix>.health.events` message, de-duplicated within ten minutes.
    public var eventStream: JetStreamStreamConfiguration {
        var stream = JetStreamStreamConfiguration(name: subjects.eventStream, subjects: [subjects.events])
        stream.duplicateWindow = .seconds(600)
        return stream
    }

    /// Queues one message per transition.
    public func publish(events: [HealthEvent]) {
        publish(events, id: \.eventID)
    }

    /// Queues one message per category change (the category events beside the per-check ones).
    public func publish(categoryEvents: [CategoryEvent]) {
        publish(categoryEvents, id: \.eventID)
    }

    private func publish<Event: Encodable>(_ events: [Event], id: (Event) -> String) {
        let encoder = JSONEncoder.healthMessages
        var messages: [OutgoingMessage] = []
        for event in events {
            guard let payload = try? encoder.encode(event) else { continue }
            messages.append(
                OutgoingMessage(
                    subject: subjects.events, payload: Array(payload), delivery: .jetStream(messageID: id(event))))
        }
        outbox.enqueue(messages)
    }

    /// Queues the status of each instance (and of the node) whose status changed since it was last published, or
    /// of all of them with `snapshot`. Returns how many messages were queued.
    @discardableResult
    public func publishStatus(_ report: HealthReport, snapshot: Bool, at: Date = Date()) -> Int {
        let encoder = JSONEncoder.healthMessages
        let node = report.node.name
        var changed: [StatusMessage] = []
        lastPublished.withLock { last in
            var current: [String: StatusSignature] = [:]
            let nodeSignature = StatusSignature(report.node.system)
            current["node:" + node] = nodeSignature
            if snapshot || last["node:" + node] != nodeSignature {
                changed.append(
                    .node(report.node, reason: snapshot ? .snapshot : .change, at: at, catalogue: report.catalogue))
            }
            for instance in report.instances {
                let signature = StatusSignature(instance)
                current[instance.instanceID] = signature
                if snapshot || last[instance.instanceID] != signature {
                    changed.append(.instance(instance, node: node, reason: snapshot ? .snapshot : .change, at: at))
                }
            }
            last = current
        }
        outbox.enqueue(
            changed.compactMap { message in
                (try? encoder.encode(message)).map { OutgoingMessage(subject: subjects.status, payload: Array($0)) }
            })
        return changed.count
    }

    /// Queues the CloudWatch-shaped datapoints of every instance.
    public func publishMetrics(_ report: HealthReport, at: Date = Date()) {
        let encoder = JSONEncoder.healthMessages
        outbox.enqueue(
            report.instances.compactMap { instance in
                let message = MetricsMessage.datapoints(for: instance, node: report.node.name, at: at)
                guard !message.metricData.isEmpty, let payload = try? encoder.encode(message) else { return nil }
                return OutgoingMessage(subject: subjects.metrics, payload: Array(payload))
            })
    }
}

/// What makes a status "changed": the summary statuses, ImpairedSince and each check's detail status (not the
/// observation times or messages, which change on every run).
struct StatusSignature: Hashable {
    var parts: [String]

    init(_ category: CategoryStatus) {
        parts = [Self.describe(category)]
    }

    init(_ instance: InstanceHealth) {
        parts = [
            instance.state.rawValue, Self.describe(instance.system), Self.describe(instance.instance),
            Self.describe(instance.ebs),
        ]
    }

    private static func describe(_ category: CategoryStatus) -> String {
        let checks = category.checks.map { "\($0.name)@\($0.target)=\($0.status.rawValue)\($0.flapping ? "~" : "")" }
        let since = category.impairedSince.map { "\($0.timeIntervalSince1970)" } ?? "-"
        return "\(category.status.rawValue)|\(since)|\(checks.joined(separator: ","))"
    }
}

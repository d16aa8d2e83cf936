import Foundation
import HealthNATS
import Logging
import Synchronization

/// One message on `<prefix>.health.events` from the peers or the recovery policy. `kind` tells it from a check
/// transition: `node-dead`, `node-alive`, `recovery` (a record changed state) or `person-needed`.
public struct RecoveryEvent: Sendable, Hashable, Codable {
    /// Stable for the same step, so a repeat is stored once (`Nats-Msg-Id`).
    public var eventID: String
    public var kind: String
    public var node: String
    public var instance: String?
    public var recoveryID: String?
    public var action: String?
    public var from: String?
    public var to: String?
    public var at: Date
    public var reason: String
    /// The agent that published it.
    public var agent: String

    public init(
        eventID: String, kind: String, node: String, instance: String? = nil, recoveryID: String? = nil,
        action: String? = nil, from: String? = nil, to: String? = nil, at: Date, reason: String, agent: String
    ) {
        self.eventID = eventID
        self.kind = kind
        self.node = node
        self.instance = instance
        self.recoveryID = recoveryID
        self.action = action
        self.from = from
        self.to = to
        self.at = at
        self.reason = reason
        self.agent = agent
    }

    enum CodingKeys: String, CodingKey {
        case kind, node, instance, action, from, to, at, reason, agent
        case eventID = "event_id"
        case recoveryID = "recovery_id"
    }
}

/// Publishes on the events stream (JetStream, `Nats-Msg-Id` = the event id), creating the stream on first use.
/// A message that cannot be published now is logged and dropped: the KV records are the source of truth.
public final class RecoveryEventPublisher: Sendable {
    let connection: NATSConnection
    let subjects: HealthSubjects
    let logger: Logger
    private let streamReady = Atomic<Bool>(false)

    public init(connection: NATSConnection, subjects: HealthSubjects, logger: Logger) {
        self.connection = connection
        self.subjects = subjects
        self.logger = logger
    }

    /// Publishes `payload` (any Encodable event) with `id` as its `Nats-Msg-Id`.
    public func publish(_ payload: some Encodable, id: String) async {
        do {
            if !streamReady.load(ordering: .acquiring) {
                var stream = JetStreamStreamConfiguration(name: subjects.eventStream, subjects: [subjects.events])
                stream.duplicateWindow = .seconds(600)
                try await connection.ensureStream(stream)
                streamReady.store(true, ordering: .releasing)
            }
            let data = try JSONEncoder.healthMessages.encode(payload)
            _ = try await connection.publishJetStream(subjects.events, payload: Array(data), messageID: id)
        } catch {
            logger.warning("recovery: event \(id) not published: \(error)")
        }
    }

    public func publish(_ event: RecoveryEvent) async { await publish(event, id: event.eventID) }
}

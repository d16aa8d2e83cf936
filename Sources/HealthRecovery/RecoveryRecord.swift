import Foundation
import HealthCore

/// One recovery of one instance, kept in KV (`recovery.<instance>` while it is the instance's current one,
/// `history.<id>` once finished) and moved on by compare-and-swap, so it resumes after an agent restart and no step
/// runs twice.
///
/// States: `proposed` -> `approved` -> (`stopping` -> `starting` | `rebooting` | `terminating`) -> `done` or
/// `failed`; a person may move `proposed` to `rejected`. A reboot that did not help goes back to `proposed` with the
/// action `terminate` when termination is not allowed.
public struct RecoveryRecord: Sendable, Hashable, Codable {
    /// Where a record is.
    public struct State: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Waiting for a person (`hive-health recover approve|reject`).
        public static let proposed = State(rawValue: "proposed")
        public static let approved = State(rawValue: "approved")
        public static let rejected = State(rawValue: "rejected")
        /// `stop_instance` sent; waiting until Hive reports the instance stopped.
        public static let stopping = State(rawValue: "stopping")
        /// `start_instance` sent; waiting until Hive reports it running (placed on another host).
        public static let starting = State(rawValue: "starting")
        /// `reboot_instance` sent; waiting the grace period for the instance to become healthy.
        public static let rebooting = State(rawValue: "rebooting")
        /// `delete_instance` sent; waiting until Hive reports it terminated.
        public static let terminating = State(rawValue: "terminating")
        public static let done = State(rawValue: "done")
        public static let failed = State(rawValue: "failed")

        /// No further step: the record is history.
        public var isFinal: Bool { self == .done || self == .failed || self == .rejected }
    }

    /// What the recovery does.
    public enum Action: String, Sendable, Hashable, Codable {
        /// EBS-backed: stop, then start (Hive places it on another host).
        case stopStart = "stop-start"
        /// Instance store: reboot; still impaired after the grace period -> terminate (if allowed) or a person.
        case reboot
        /// Delete the instance (`delete_instance`).
        case terminate
    }

    /// One state change (or an adoption by another agent), with its reason; only the record makes them
    /// (``move(to:at:reason:agent:)``), so its initialiser is the module's own.
    public struct Step: Sendable, Hashable, Codable {
        public var state: State
        public var at: Date
        public var reason: String
        public var agent: String
    }

    public var id: String
    public var instance: String
    /// The node the instance was on when the impairment was seen.
    public var node: String
    public var action: Action
    public var state: State
    public var reason: String
    /// The agent that moves the record on (the one that created it).
    public var owner: String
    public var createdAt: Date
    public var updatedAt: Date
    /// When the current step began (the step's timeout and the reboot's grace period count from here).
    public var stepStartedAt: Date
    /// The start of the impairment streak that caused it: one recovery per streak.
    public var impairedSince: Date?
    /// Set when a rate limit or the configuration turned an automatic recovery into a proposal for a person.
    public var needsPerson: Bool
    public var steps: [Step]

    public init(
        id: String, instance: String, node: String, action: Action, reason: String, owner: String, at: Date,
        impairedSince: Date?
    ) {
        self.id = id
        self.instance = instance
        self.node = node
        self.action = action
        self.state = .proposed
        self.reason = reason
        self.owner = owner
        self.createdAt = at
        self.updatedAt = at
        self.stepStartedAt = at
        self.impairedSince = impairedSince
        self.needsPerson = false
        self.steps = [Step(state: .proposed, at: at, reason: reason, agent: owner)]
    }

    /// Moves to `state`, noting why and who.
    public mutating func move(to state: State, at: Date, reason: String, agent: String) {
        self.state = state
        self.reason = reason
        self.updatedAt = at
        self.stepStartedAt = at
        steps.append(Step(state: state, at: at, reason: reason, agent: agent))
    }

    /// While a record is not final, an EC2-style scheduled event says what is coming for the instance.
    public var scheduledEvent: ScheduledEvent? {
        guard !state.isFinal else { return nil }
        let code: ScheduledEvent.Code =
            switch action {
            case .stopStart: .instanceStop
            case .reboot: .systemReboot
            case .terminate: .instanceRetirement
            }
        let waiting = state == .proposed ? " (waiting for approval)" : ""
        return ScheduledEvent(
            instanceEventID: "instance-event-\(id)", instanceID: instance, code: code,
            description: "\(action.rawValue) by hive-health: \(state.rawValue)\(waiting): \(reason)",
            notBefore: createdAt, notAfter: nil)
    }

    enum CodingKeys: String, CodingKey {
        case id, instance, node, action, state, reason, owner, steps
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case stepStartedAt = "step_started_at"
        case impairedSince = "impaired_since"
        case needsPerson = "needs_person"
    }
}

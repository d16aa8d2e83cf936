import Foundation
import HealthNATS
import Logging

/// An agent's peer and recovery work on a timer: each round the ``DeadNodeDetector`` votes and declares, then the
/// ``RecoveryPolicy`` proposes and steps. Every round is bounded (KV reads and Hive requests have timeouts); a
/// failed round is logged and the next one starts afresh.
public final class RecoveryAgent: Sendable {
    public let detector: DeadNodeDetector
    public let policy: RecoveryPolicy
    let logger: Logger

    public init(
        node: String, connection: NATSConnection, subjects: HealthSubjects, peers: PeerSettings,
        recovery: RecoverySettings, logger: Logger
    ) {
        let events = RecoveryEventPublisher(connection: connection, subjects: subjects, logger: logger)
        self.detector = DeadNodeDetector(
            node: node, connection: connection, subjects: subjects, settings: peers, events: events, logger: logger)
        self.policy = RecoveryPolicy(
            node: node, connection: connection, subjects: subjects, settings: recovery, readTimeout: peers.readTimeout,
            events: events, logger: logger)
        self.logger = logger
    }

    /// One round of both; returns the detector's outcome.
    @discardableResult
    public func round(now: Date = Date()) async throws -> DeadNodeDetector.Round {
        let round = try await detector.round(now: now)
        try await policy.round(view: round.view, deadNodes: Set(round.verdicts.keys), now: now)
        return round
    }

    /// Rounds every `interval` until the task is cancelled.
    public func run(interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await round()
            } catch {
                logger.warning("recovery: round failed: \(error)")
            }
            guard (try? await Task.sleep(for: interval)) != nil else { return }
        }
    }
}

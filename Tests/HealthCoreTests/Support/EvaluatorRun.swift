import Foundation
import HealthCore

/// Drives one ``CheckState`` with a test clock: each recorded result happens one interval after the previous one.
struct EvaluatorRun {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    var state = CheckState()
    var thresholds: Thresholds
    let interval: TimeInterval
    /// The time the next result is recorded at.
    private(set) var now: Date
    /// Every transition returned so far, oldest first.
    private(set) var transitions: [CheckTransition] = []

    init(thresholds: Thresholds = .default, interval: TimeInterval = 30, start: Date = EvaluatorRun.start) {
        self.thresholds = thresholds
        self.interval = interval
        self.now = start
    }

    /// The time of the `index`-th result (0-based) of a run started at ``start``.
    func time(ofResult index: Int) -> Date { Self.start.addingTimeInterval(Double(index) * interval) }

    /// Records one result at the current test time, then advances the clock by one interval.
    @discardableResult
    mutating func record(
        _ outcome: Observation.Outcome, message: String? = nil, suppression: String? = nil, inLaunchGrace: Bool = false
    ) -> CheckTransition? {
        let observation = Observation(outcome: outcome, message: message ?? "\(outcome.rawValue) #\(state.runs)")
        let transition = state.record(
            observation, at: now, thresholds: thresholds, suppression: suppression, inLaunchGrace: inLaunchGrace)
        if let transition { transitions.append(transition) }
        now = now.addingTimeInterval(interval)
        return transition
    }

    /// Records each outcome in order.
    mutating func record(_ outcomes: [Observation.Outcome], inLaunchGrace: Bool = false) {
        for outcome in outcomes { record(outcome, inLaunchGrace: inLaunchGrace) }
    }

    /// The status shown now, outside the launch grace period.
    var status: DetailStatus { state.status(inLaunchGrace: false) }
}

/// `count` results alternating between passed and failed, starting with `first`.
func alternating(_ count: Int, first: Observation.Outcome = .passed) -> [Observation.Outcome] {
    let second: Observation.Outcome = first == .passed ? .failed : .passed
    return (0..<count).map { $0.isMultiple(of: 2) ? first : second }
}

import Foundation

/// The evaluator's memory of one job (one check on one target): counters, recent history and the decided status.
///
/// It is a pure state machine fed with observations and the time they were made (DESIGN §1):
/// `consecutive_failures` failures make it `failed`, `consecutive_successes` successes make it `passed`, as many
/// unknowns in a row as `consecutive_failures` make it `insufficient-data`. An unknown never counts as a failure and
/// does not break a failing streak. Before any decision it is `initializing` inside the launch grace period and
/// `insufficient-data` after it; failures inside the grace period do not make it `failed` yet (a booting guest is
/// not an impaired one). Codable, so it survives restarts through the state store.
public struct CheckState: Sendable, Hashable, Codable {
    /// Flap detection looks at this many recent results (Nagios uses 21).
    public static let historyLength = 21

    // Stored compactly, one of these per job (120,000 on a large node): the last observation first, then the times
    // as seconds (``CompactDate``), the counters in 32 bits (``CompactCount``), the flags last: 104 bytes instead of
    // 160 with optional dates and full-width counters.
    public var lastObservation: Observation?
    /// When the current failing streak began (first failure since the last pass).
    @CompactDate public var failingSince: Date? = nil
    /// When the check became failed's streak began; set only while ``decided`` is `failed`.
    @CompactDate public var impairedSince: Date? = nil
    @CompactDate public var lastObservedAt: Date? = nil
    @CompactDate public var lastTransitionAt: Date? = nil
    /// The history, newest in the lowest two bits: 0 passed, 1 failed, 2 unknown.
    private var historyBits: UInt64 = 0
    /// Total results recorded (for metrics and debugging).
    public var runs: Int = 0
    @CompactCount public var consecutivePassed: Int = 0
    @CompactCount public var consecutiveFailed: Int = 0
    @CompactCount public var consecutiveUnknown: Int = 0
    /// The decided status; nil until the thresholds have decided anything.
    public var decided: DetailStatus?
    private var historyCount: UInt8 = 0
    public var flapping: Bool = false

    /// Most recent last, at most ``historyLength``; kept as two bits per outcome (``historyBits``).
    public var history: [Observation.Outcome] {
        get {
            (0..<Int(historyCount)).map { Self.outcome(code: historyBits >> (2 * UInt64(Int(historyCount) - 1 - $0))) }
        }
        set {
            historyBits = 0
            historyCount = 0
            for outcome in newValue.suffix(Self.historyLength) { appendHistory(outcome) }
        }
    }

    public init() {}

    /// The status shown now: the decided one, else `initializing` inside the grace period, else `insufficient-data`.
    public func status(inLaunchGrace: Bool) -> DetailStatus {
        decided ?? (inLaunchGrace ? .initializing : .insufficientData)
    }

    /// The percent state change over the history, weighted toward recent results (0.8 oldest to 1.2 newest), as
    /// Nagios computes it. Nil until the history is full: a few early results say nothing about flapping.
    public var percentStateChange: Double? {
        guard Int(historyCount) == Self.historyLength else { return nil }
        let count = Self.historyLength
        // Pair `index` (1..<count, oldest first) compares entries index-1 and index, stored at shifts
        // 2*(count-index) and 2*(count-1-index).
        var changes = (historyBits ^ (historyBits >> 2)) & Self.lowBitsOfPairs
        changes = (changes | (changes >> 1)) & 0x5555_5555_5555_5555
        guard changes != 0 else { return 0 }
        var weighted = 0.0
        let steps = Double(count - 2)
        // Oldest pair first (the highest bit), summed in the order Nagios sums them.
        while changes != 0 {
            let bit = 63 - changes.leadingZeroBitCount
            changes &= ~(UInt64(1) << UInt64(bit))
            // Bit 2*(count-1-index) is pair `index`.
            let index = count - 1 - bit / 2
            weighted += 0.8 + 0.4 * Double(index - 1) / steps
        }
        return weighted / Double(count - 1) * 100
    }

    /// Both bits of each of the 20 newest pairs' positions (the newest 20 entries, each compared with the one before).
    private static let lowBitsOfPairs: UInt64 = (1 << (2 * UInt64(historyLength - 1))) - 1

    private static func code(_ outcome: Observation.Outcome) -> UInt64 {
        switch outcome {
        case .passed: 0
        case .failed: 1
        case .unknown: 2
        }
    }

    private static func outcome(code: UInt64) -> Observation.Outcome {
        switch code & 3 {
        case 0: .passed
        case 1: .failed
        default: .unknown
        }
    }

    private mutating func appendHistory(_ outcome: Observation.Outcome) {
        historyBits = ((historyBits << 2) | Self.code(outcome)) & ((1 << (2 * UInt64(Self.historyLength))) - 1)
        if Int(historyCount) < Self.historyLength { historyCount += 1 }
    }

    /// Records one observation made at `at` and returns the transition it caused, if any.
    ///
    /// - Parameters:
    ///   - suppression: the reason of an active suppression window (instance paused, migrating, guest filesystems
    ///     frozen); a failure inside one is recorded as unknown.
    ///   - inLaunchGrace: the target is still inside its launch grace period.
    @discardableResult
    public mutating func record(
        _ observation: Observation, at: Date, thresholds: Thresholds, suppression: String? = nil,
        inLaunchGrace: Bool = false
    ) -> CheckTransition? {
        var observation = observation
        if observation.outcome == .failed, let suppression {
            observation.outcome = .unknown
            observation.message = "suppressed (\(suppression)): \(observation.message)"
        }
        let before = status(inLaunchGrace: inLaunchGrace)
        let wasFlapping = flapping
        runs += 1
        lastObservation = observation
        lastObservedAt = at
        appendHistory(observation.outcome)
        if let percent = percentStateChange {
            if !flapping, percent >= thresholds.flapHigh { flapping = true }
            if flapping, percent < thresholds.flapLow { flapping = false }
        }

        switch observation.outcome {
        case .passed:
            consecutivePassed += 1
            consecutiveFailed = 0
            consecutiveUnknown = 0
            failingSince = nil
            if consecutivePassed >= max(1, thresholds.consecutiveSuccesses) {
                decided = .passed
                impairedSince = nil
            }
        case .failed:
            consecutiveFailed += 1
            consecutivePassed = 0
            consecutiveUnknown = 0
            if failingSince == nil { failingSince = at }
            if consecutiveFailed >= max(1, thresholds.consecutiveFailures), !(inLaunchGrace && decided != .failed) {
                if decided != .failed { impairedSince = failingSince }
                decided = .failed
            }
        case .unknown:
            consecutiveUnknown += 1
            if consecutiveUnknown >= max(1, thresholds.consecutiveFailures) {
                decided = .insufficientData
                impairedSince = nil
            }
        }

        let after = status(inLaunchGrace: inLaunchGrace)
        guard after != before || flapping != wasFlapping else { return nil }
        if after != before { lastTransitionAt = at }
        return CheckTransition(
            from: before, to: after, at: at, reason: observation.message, flapping: flapping,
            flappingChanged: flapping != wasFlapping)
    }
}

extension CheckState {
    enum CodingKeys: String, CodingKey {
        case decided, consecutivePassed, consecutiveFailed, consecutiveUnknown, history, flapping, failingSince
        case impairedSince, lastObservation, lastObservedAt, lastTransitionAt, runs
    }

    /// The history is written as one short string (`"ppfu"`): a state file of 100,000 jobs stays small and quick.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(decided, forKey: .decided)
        try c.encode(consecutivePassed, forKey: .consecutivePassed)
        try c.encode(consecutiveFailed, forKey: .consecutiveFailed)
        try c.encode(consecutiveUnknown, forKey: .consecutiveUnknown)
        try c.encode(String(history.map(\.letter)), forKey: .history)
        try c.encode(flapping, forKey: .flapping)
        try c.encodeIfPresent(failingSince, forKey: .failingSince)
        try c.encodeIfPresent(impairedSince, forKey: .impairedSince)
        try c.encodeIfPresent(lastObservation, forKey: .lastObservation)
        try c.encodeIfPresent(lastObservedAt, forKey: .lastObservedAt)
        try c.encodeIfPresent(lastTransitionAt, forKey: .lastTransitionAt)
        try c.encode(runs, forKey: .runs)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        decided = try c.decodeIfPresent(DetailStatus.self, forKey: .decided)
        consecutivePassed = try c.decodeIfPresent(Int.self, forKey: .consecutivePassed) ?? 0
        consecutiveFailed = try c.decodeIfPresent(Int.self, forKey: .consecutiveFailed) ?? 0
        consecutiveUnknown = try c.decodeIfPresent(Int.self, forKey: .consecutiveUnknown) ?? 0
        // Also reads the array form written by earlier builds.
        if let letters = try? c.decodeIfPresent(String.self, forKey: .history) {
            history = letters.compactMap(Observation.Outcome.init(letter:))
        } else {
            history = try c.decodeIfPresent([Observation.Outcome].self, forKey: .history) ?? []
        }
        flapping = try c.decodeIfPresent(Bool.self, forKey: .flapping) ?? false
        failingSince = try c.decodeIfPresent(Date.self, forKey: .failingSince)
        impairedSince = try c.decodeIfPresent(Date.self, forKey: .impairedSince)
        lastObservation = try c.decodeIfPresent(Observation.self, forKey: .lastObservation)
        lastObservedAt = try c.decodeIfPresent(Date.self, forKey: .lastObservedAt)
        lastTransitionAt = try c.decodeIfPresent(Date.self, forKey: .lastTransitionAt)
        runs = try c.decodeIfPresent(Int.self, forKey: .runs) ?? 0
    }
}

extension Observation.Outcome {
    /// One letter per outcome for compact histories: `p`, `f`, `u`.
    public var letter: Character {
        switch self {
        case .passed: "p"
        case .failed: "f"
        case .unknown: "u"
        }
    }

    public init?(letter: Character) {
        switch letter {
        case "p": self = .passed
        case "f": self = .failed
        case "u": self = .unknown
        default: return nil
        }
    }
}

/// A change of a check's status (or of its flapping flag), with the observation that caused it.
public struct CheckTransition: Sendable, Hashable, Codable {
    public var from: DetailStatus
    public var to: DetailStatus
    public var at: Date
    public var reason: String
    public var flapping: Bool
    public var flappingChanged: Bool

    public init(from: DetailStatus, to: DetailStatus, at: Date, reason: String, flapping: Bool, flappingChanged: Bool) {
        self.from = from
        self.to = to
        self.at = at
        self.reason = reason
        self.flapping = flapping
        self.flappingChanged = flappingChanged
    }
}

/// A moment held as seconds since the reference date, none as minus infinity (no clock gives it): 8 bytes where a
/// `Date?` takes 9, padded to 16 beside other fields.
@propertyWrapper
public struct CompactDate: Sendable, Hashable {
    private var seconds: Double

    public init(wrappedValue: Date?) { seconds = wrappedValue?.timeIntervalSinceReferenceDate ?? -.infinity }

    public var wrappedValue: Date? {
        get { seconds == -.infinity ? nil : Date(timeIntervalSinceReferenceDate: seconds) }
        set { seconds = newValue?.timeIntervalSinceReferenceDate ?? -.infinity }
    }
}

/// A count held in 32 bits, clamped (a streak of two billion results is 680 years at one result every 10 s).
@propertyWrapper
public struct CompactCount: Sendable, Hashable {
    private var value: Int32

    public init(wrappedValue: Int) { value = Int32(clamping: wrappedValue) }

    public var wrappedValue: Int {
        get { Int(value) }
        set { value = Int32(clamping: newValue) }
    }
}

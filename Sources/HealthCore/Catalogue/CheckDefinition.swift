/// Where something was written: a file and a 1-based line and column.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// How many results in a row turn a check's status, and when it counts as flapping.
public struct Thresholds: Sendable, Hashable, Codable {
    /// Failures in a row that turn the check `failed`; also unknowns in a row that turn it `insufficient-data`.
    public var consecutiveFailures: Int
    /// Successes in a row that turn the check `passed`.
    public var consecutiveSuccesses: Int
    /// Percent state change over the last 21 results at or above which the check starts flapping.
    public var flapHigh: Double
    /// Percent state change below which a flapping check stops flapping.
    public var flapLow: Double

    public init(consecutiveFailures: Int = 2, consecutiveSuccesses: Int = 1, flapHigh: Double = 50, flapLow: Double = 25) {
        self.consecutiveFailures = consecutiveFailures
        self.consecutiveSuccesses = consecutiveSuccesses
        self.flapHigh = flapHigh
        self.flapLow = flapLow
    }

    public static let `default` = Thresholds()
}

/// A `when` selector: the target's field must match one of the patterns (`*`, `?` wildcards).
public struct Selector: Sendable, Hashable, Codable {
    public var field: String
    public var patterns: [String]
    /// `field: {not: [...]}`: the field must match none of the patterns.
    public var negated: Bool

    public init(field: String, patterns: [String], negated: Bool = false) {
        self.field = field
        self.patterns = patterns
        self.negated = negated
    }

    /// A target without the field (e.g. a missing label) matches no pattern, not even `*`.
    public func matches(_ fields: TargetFields) -> Bool {
        guard let value = fields[field] else { return negated }
        let hit = patterns.contains { Glob.matches($0, value) }
        return negated ? !hit : hit
    }
}

/// One check of the catalogue, with every default applied.
public struct CheckDefinition: Sendable, Hashable {
    /// Unique in the catalogue.
    public var name: String
    public var category: HealthCategory
    /// The registered probe kind.
    public var probe: String
    public var target: TargetKind
    public var interval: Duration
    public var timeout: Duration
    /// First runs of this check's jobs are spread over this window by a stable hash (default: the interval).
    public var splay: Duration
    /// Each run is moved by a random amount in `-jitter...jitter`.
    public var jitter: Duration
    public var thresholds: Thresholds
    /// As written: string values may hold `{{...}}` templates, filled per target.
    public var params: [String: ParameterValue]
    /// All must match for a target to be checked.
    public var when: [Selector]
    public var enabled: Bool
    /// Where the check was defined, for messages.
    public var location: SourceLocation?
    public var description: String

    public init(
        name: String, category: HealthCategory, probe: String, target: TargetKind, interval: Duration = .seconds(60),
        timeout: Duration = .seconds(10), splay: Duration? = nil, jitter: Duration = .zero,
        thresholds: Thresholds = .default, params: [String: ParameterValue] = [:], when: [Selector] = [],
        enabled: Bool = true, location: SourceLocation? = nil, description: String = ""
    ) {
        self.name = name
        self.category = category
        self.probe = probe
        self.target = target
        self.interval = interval
        self.timeout = timeout
        self.splay = splay ?? interval
        self.jitter = jitter
        self.thresholds = thresholds
        self.params = params
        self.when = when
        self.enabled = enabled
        self.location = location
        self.description = description
    }

    /// True when every `when` selector matches the target.
    public func applies(to fields: TargetFields) -> Bool {
        when.allSatisfy { $0.matches(fields) }
    }
}

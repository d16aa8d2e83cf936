/// Parsing and printing of the durations used in checks.d and hive.toml (`500ms`, `30s`, `1m30s`, `2h`).
public enum HealthDuration {
    /// Why a duration could not be read.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var text: String
        public init(text: String) { self.text = text }
        public var description: String {
            "invalid duration '\(text)': expected a number with a unit (ms, s, m, h), e.g. 500ms, 30s, 1m30s"
        }
    }

    /// Parses `text` into a `Duration`. A bare number is seconds. Negative durations are rejected.
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ParseError(text: text) }
        if let seconds = Double(trimmed) {
            guard seconds >= 0, seconds.isFinite, seconds < 1e9 else { throw ParseError(text: text) }
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        var total: Double = 0
        var index = trimmed.startIndex
        var sawComponent = false
        while index < trimmed.endIndex {
            let numberStart = index
            while index < trimmed.endIndex, trimmed[index].isNumber || trimmed[index] == "." {
                index = trimmed.index(after: index)
            }
            guard let value = Double(trimmed[numberStart..<index]) else { throw ParseError(text: text) }
            let unitStart = index
            while index < trimmed.endIndex, trimmed[index].isLetter || trimmed[index] == "µ" {
                index = trimmed.index(after: index)
            }
            let scale: Double
            switch trimmed[unitStart..<index] {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86400
            default: throw ParseError(text: text)
            }
            total += value * scale
            sawComponent = true
        }
        guard sawComponent, total.isFinite, total < 1e9 else { throw ParseError(text: text) }
        return .nanoseconds(Int64((total * 1e9).rounded()))
    }

    /// Prints `duration` the way it would be written in checks.d (`1m30s`, `250ms`).
    public static func format(_ duration: Duration) -> String {
        let nanos = duration.nanoseconds
        if nanos == 0 { return "0s" }
        if nanos < 0 { return "-" + format(.nanoseconds(nanos == .min ? .max : -nanos)) }
        if nanos % 1_000_000_000 != 0 {
            if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
            if nanos % 1000 == 0 { return "\(nanos / 1000)us" }
            return "\(nanos)ns"
        }
        var seconds = nanos / 1_000_000_000
        var text = ""
        if seconds >= 3600 { text += "\(seconds / 3600)h"; seconds %= 3600 }
        if seconds >= 60 { text += "\(seconds / 60)m"; seconds %= 60 }
        if seconds > 0 { text += "\(seconds)s" }
        return text
    }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    /// The duration in seconds as a `Double`.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}

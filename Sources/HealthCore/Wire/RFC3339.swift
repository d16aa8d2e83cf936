import Foundation

/// RFC 3339 timestamps: written in UTC with milliseconds (so a `Date` round-trips to the millisecond), read as Go
/// and Hive write them (with or without fractions, `Z` or `±hh:mm`). Pure, no formatter objects, bounded input.
public enum RFC3339 {
    /// `2026-01-02T03:04:05.678Z`.
    public static func format(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `2026-01-02T03:04:05.678Z` to a byte buffer (the state store's writer), formatted by hand:
    /// `String(format:)` was the largest cost of writing a large node's state.
    public static func append(_ date: Date, to bytes: inout [UInt8]) {
        let parts = Parts(date)
        appendDecimal(parts.year, width: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDecimal(parts.month, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDecimal(parts.day, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendDecimal(parts.hour, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDecimal(parts.minute, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDecimal(parts.second, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        appendDecimal(parts.millisecond, width: 3, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// `20260102T030405.678Z`, for file names.
    public static func compact(_ date: Date) -> String {
        let parts = Parts(date)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        for (value, width) in [(parts.year, 4), (parts.month, 2), (parts.day, 2)] {
            appendDecimal(value, width: width, to: &bytes)
        }
        bytes.append(UInt8(ascii: "T"))
        for value in [parts.hour, parts.minute, parts.second] { appendDecimal(value, width: 2, to: &bytes) }
        bytes.append(UInt8(ascii: "."))
        appendDecimal(parts.millisecond, width: 3, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `value` in decimal with at least `width` characters, zero-padded, as `%0*d` writes it (a sign is one of them).
    public static func appendDecimal(_ value: Int, width: Int = 1, to bytes: inout [UInt8]) {
        var width = width
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            width -= 1
        }
        let magnitude = value.magnitude
        var divisor: UInt = 1
        var count = 1
        while magnitude / divisor >= 10 {
            divisor *= 10
            count += 1
        }
        if count < width { bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - count)) }
        var rest = magnitude
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Parses RFC 3339 with or without fractional seconds, `Z` or `±hh:mm`; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 64 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") || bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var milliseconds = 0
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            var scale = 0.1
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                let digit = Int(bytes[index] - UInt8(ascii: "0"))
                // Exact integer milliseconds for the first three digits: the round trip must not drift.
                if index - start < 3 {
                    milliseconds = milliseconds * 10 + digit
                } else {
                    fraction += Double(digit) * scale
                    scale /= 10
                }
                index += 1
            }
            guard index > start else { return nil }
            for _ in 0..<max(0, 3 - (index - start)) { milliseconds *= 10 }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6),
                hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let seconds =
            Parts.daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60
            + second - offset
        return Date(timeIntervalSince1970: (Double(seconds * 1000 + milliseconds) + fraction) / 1000)
    }

    /// A date's UTC calendar fields, rounded to the millisecond (what every writer of these timestamps formats).
    public struct Parts: Sendable, Hashable {
        public var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millisecond = 0

        public init(_ date: Date) {
            let total = Int64((date.timeIntervalSince1970 * 1000).rounded())
            let seconds = Int(total.floorDivided(by: 1000))
            millisecond = Int(total - Int64(seconds) * 1000)
            let days = seconds.floorDivided(by: 86_400)
            var secondOfDay = seconds - days * 86_400
            hour = secondOfDay / 3600
            secondOfDay %= 3600
            minute = secondOfDay / 60
            second = secondOfDay % 60
            (year, month, day) = Self.civil(daysSinceEpoch: days)
        }

        /// Howard Hinnant's `days_from_civil`.
        static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            return era * 146_097 + dayOfEra - 719_468
        }

        /// Howard Hinnant's `civil_from_days`.
        static func civil(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let dayOfEra = z - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let mp = (5 * dayOfYear + 2) / 153
            let day = dayOfYear - (153 * mp + 2) / 5 + 1
            let month = mp < 10 ? mp + 3 : mp - 9
            return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
        }
    }
}

extension BinaryInteger {
    /// Division rounding toward negative infinity (dates before 1970 still split into valid fields).
    fileprivate func floorDivided(by divisor: Self) -> Self {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

import Foundation
import HealthCore

/// Writes the state store's JSON by hand, straight into a byte buffer: a job record costs one pass over its fields,
/// with no encoder tree and no intermediate `Data`. The output is the same JSON that `JobRecord`'s `Codable`
/// conformance reads (the keys, the history as letters, dates in RFC 3339 UTC with milliseconds).
struct StateJSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Empties the buffer, keeping its capacity (after its bytes were written out).
    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// A JSON string: quotes, backslashes and control characters escaped.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for unit in text.utf8 {
            switch unit {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hex[Int(unit >> 4)])
                bytes.append(Self.hex[Int(unit & 0xf)])
            default: bytes.append(unit)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func int(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }

    /// A finite double as Swift prints it (shortest round-trip form, which JSON accepts); non-finite as 0.
    mutating func double(_ value: Double) {
        guard value.isFinite else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            int(Int(value))
            return
        }
        raw(value.description.utf8)
    }

    mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// `"2026-01-02T03:04:05.678Z"`, as ``RFC3339/format(_:)`` writes it (to the nearest millisecond).
    mutating func date(_ date: Date) {
        let parts = RFC3339.Parts(date)
        bytes.append(UInt8(ascii: "\""))
        digits(parts.year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        digits(parts.month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        digits(parts.day, width: 2)
        bytes.append(UInt8(ascii: "T"))
        digits(parts.hour, width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(parts.minute, width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(parts.second, width: 2)
        bytes.append(UInt8(ascii: "."))
        digits(parts.millisecond, width: 3)
        raw("Z\"")
    }

    private mutating func digits(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var value = value
        if value >= divisor * 10 {
            int(value)
            return
        }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(value / divisor))
            value %= divisor
            divisor /= 10
        }
    }

    /// A value through `JSONEncoder` (for the small, rarely written parts: instance reports, the catalogue).
    mutating func encoded(_ value: some Encodable, with encoder: JSONEncoder) throws {
        bytes.append(contentsOf: try encoder.encode(value))
    }

    /// One job record, as `JobRecord`'s `Codable` conformance reads it.
    mutating func record(_ record: JobRecord) {
        raw("{\"check\":")
        string(record.check)
        raw(",\"probe\":")
        string(record.probe)
        raw(",\"category\":")
        string(record.category.rawValue)
        raw(",\"targetKind\":")
        string(record.targetKind.rawValue)
        raw(",\"targetID\":")
        string(record.targetID)
        if let instanceID = record.instanceID {
            raw(",\"instanceID\":")
            string(instanceID)
        }
        raw(",\"state\":")
        state(record.state)
        byte(UInt8(ascii: "}"))
    }

    private mutating func state(_ state: CheckState) {
        raw("{\"consecutivePassed\":")
        int(state.consecutivePassed)
        raw(",\"consecutiveFailed\":")
        int(state.consecutiveFailed)
        raw(",\"consecutiveUnknown\":")
        int(state.consecutiveUnknown)
        raw(",\"history\":\"")
        for outcome in state.history {
            let letter: UInt8 =
                switch outcome {
                case .passed: UInt8(ascii: "p")
                case .failed: UInt8(ascii: "f")
                case .unknown: UInt8(ascii: "u")
                }
            bytes.append(letter)
        }
        raw("\",\"flapping\":")
        bool(state.flapping)
        raw(",\"runs\":")
        int(state.runs)
        if let decided = state.decided {
            raw(",\"decided\":")
            string(decided.rawValue)
        }
        optionalDate(",\"failingSince\":", state.failingSince)
        optionalDate(",\"impairedSince\":", state.impairedSince)
        optionalDate(",\"lastObservedAt\":", state.lastObservedAt)
        optionalDate(",\"lastTransitionAt\":", state.lastTransitionAt)
        if let observation = state.lastObservation {
            raw(",\"lastObservation\":{\"outcome\":")
            string(observation.outcome.rawValue)
            raw(",\"message\":")
            string(observation.message)
            raw(",\"duration\":")
            double(observation.duration)
            raw(",\"values\":{")
            var first = true
            for (name, value) in observation.values {
                if !first { byte(UInt8(ascii: ",")) }
                first = false
                string(name)
                byte(UInt8(ascii: ":"))
                double(value)
            }
            raw("}}")
        }
        byte(UInt8(ascii: "}"))
    }

    private mutating func optionalDate(_ key: StaticString, _ value: Date?) {
        guard let value else { return }
        raw(key)
        date(value)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)
}

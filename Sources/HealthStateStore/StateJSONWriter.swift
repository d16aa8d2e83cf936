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

    mutating func int(_ value: Int) { RFC3339.appendDecimal(value, to: &bytes) }

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
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(date, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
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
            raw(",\"values\":")
            values(observation.values)
            byte(UInt8(ascii: "}"))
        }
        byte(UInt8(ascii: "}"))
    }

    /// A report entry of one instance, as `InstanceHealth`'s `Codable` conformance reads it.
    mutating func instance(_ health: InstanceHealth) {
        raw("{\"instance_id\":")
        string(health.instanceID)
        raw(",\"state\":")
        string(health.state.rawValue)
        raw(",\"availability_zone\":")
        string(health.availabilityZone)
        raw(",\"system\":")
        category(health.system)
        raw(",\"instance\":")
        category(health.instance)
        raw(",\"ebs\":")
        category(health.ebs)
        byte(UInt8(ascii: "}"))
    }

    /// The node's entry, as `NodeHealth`'s `Codable` conformance reads it.
    mutating func node(_ health: NodeHealth) {
        raw("{\"name\":")
        string(health.name)
        raw(",\"system\":")
        category(health.system)
        byte(UInt8(ascii: "}"))
    }

    private mutating func category(_ category: CategoryStatus) {
        raw("{\"status\":")
        string(category.status.rawValue)
        nullableDate(",\"impaired_since\":", category.impairedSince)
        raw(",\"checks\":[")
        for (position, check) in category.checks.enumerated() {
            if position > 0 { byte(UInt8(ascii: ",")) }
            raw("{\"name\":")
            string(check.name)
            raw(",\"probe\":")
            string(check.probe)
            raw(",\"target\":")
            string(check.target)
            raw(",\"status\":")
            string(check.status.rawValue)
            raw(",\"message\":")
            string(check.message)
            nullableDate(",\"observed_at\":", check.observedAt)
            nullableDate(",\"impaired_since\":", check.impairedSince)
            raw(",\"flapping\":")
            bool(check.flapping)
            if !check.values.isEmpty {
                raw(",\"values\":")
                values(check.values)
            }
            byte(UInt8(ascii: "}"))
        }
        raw("]}")
    }

    private mutating func values(_ values: [String: Double]) {
        byte(UInt8(ascii: "{"))
        var first = true
        for (name, value) in values {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            string(name)
            byte(UInt8(ascii: ":"))
            double(value)
        }
        byte(UInt8(ascii: "}"))
    }

    private mutating func nullableDate(_ key: StaticString, _ value: Date?) {
        raw(key)
        if let value { date(value) } else { raw("null") }
    }

    private mutating func optionalDate(_ key: StaticString, _ value: Date?) {
        guard let value else { return }
        raw(key)
        date(value)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)
}

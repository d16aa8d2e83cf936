import Foundation
import HealthCore

/// A request or response document of the CloudWatch API, whatever its encoding: CBOR (`smithy-rpc-v2-cbor`), JSON
/// (`awsJson1_0`) or the Query protocol's parameters; one tree the operations read and write.
public indirect enum WireValue: Sendable, Hashable {
    /// One key of a map, in order.
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var value: WireValue
        public init(_ key: String, _ value: WireValue) {
            self.key = key
            self.value = value
        }
    }

    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    /// CBOR tag 1 (epoch seconds); JSON and Query send timestamps as numbers and strings.
    case timestamp(Date)
    case list([WireValue])
    case map([Entry])

    /// A map from `(key, value)` pairs, skipping nil values.
    public static func object(_ entries: [(String, WireValue?)]) -> WireValue {
        .map(entries.compactMap { key, value in value.map { Entry(key, $0) } })
    }

    /// The value of `key` when this is a map (the first one when repeated).
    public subscript(key: String) -> WireValue? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var list: [WireValue]? {
        if case .list(let items) = self { return items }
        return nil
    }

    /// A number, or a string holding one (the Query protocol's values are all strings).
    public var number: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        case .string(let text): Double(text)
        default: nil
        }
    }

    public var bool: Bool? {
        switch self {
        case .bool(let value): value
        case .string("true"): true
        case .string("false"): false
        default: nil
        }
    }

    /// A timestamp: CBOR tag 1, epoch seconds (JSON), or an ISO 8601 string (Query), with or without fraction.
    public var date: Date? {
        switch self {
        case .timestamp(let date): return date
        case .integer, .double:
            guard let seconds = number, seconds.isFinite, abs(seconds) < 1e11 else { return nil }
            return Date(timeIntervalSince1970: seconds)
        case .string(let text):
            if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            if let seconds = Double(text), seconds.isFinite, abs(seconds) < 1e11 {
                return Date(timeIntervalSince1970: seconds)
            }
            return nil
        default: return nil
        }
    }
}

extension WireValue: Codable {
    /// A JSON value (awsJson1_0) as a document: numbers as integers when exact, objects with their keys sorted.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let value):
            if value.rounded() == value, abs(value) < 9.2e18, let integer = Int64(exactly: value) {
                self = .integer(integer)
            } else {
                self = .double(value)
            }
        case .string(let text): self = .string(text)
        case .array(let items): self = .list(items.map(WireValue.init(json:)))
        case .object(let members):
            self = .map(members.keys.sorted().map { Entry($0, WireValue(json: members[$0]!)) })
        }
    }

    /// The document as JSON: timestamps as epoch seconds, bytes as base64, non-finite numbers as 0.
    public var json: JSONValue {
        switch self {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .integer(let value): .number(Double(value))
        case .double(let value): .number(value.isFinite ? value : 0)
        case .string(let text): .string(text)
        case .bytes(let data): .string(Data(data).base64EncodedString())
        case .timestamp(let date): .number(date.timeIntervalSince1970)
        case .list(let items): .array(items.map(\.json))
        // The first of repeated keys wins, as in ``subscript(_:)``.
        case .map(let entries):
            .object(Dictionary(entries.map { ($0.key, $0.value.json) }, uniquingKeysWith: { first, _ in first }))
        }
    }

    /// Decodes JSON through ``JSONValue``.
    public init(from decoder: any Decoder) throws {
        self.init(json: try JSONValue(from: decoder))
    }

    /// Encodes ``json``.
    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}

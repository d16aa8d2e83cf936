import Foundation

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
    /// Decodes JSON (awsJson1_0): numbers as integers when exact, objects in their order.
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: AnyKey.self) {
            var entries: [Entry] = []
            for key in container.allKeys {
                entries.append(Entry(key.stringValue, try container.decode(WireValue.self, forKey: key)))
            }
            self = .map(entries)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var items: [WireValue] = []
            while !container.isAtEnd { items.append(try container.decode(WireValue.self)) }
            self = .list(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? single.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    /// Encodes JSON: timestamps as epoch seconds, bytes as base64.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .map(let entries):
            var container = encoder.container(keyedBy: AnyKey.self)
            for entry in entries { try container.encode(entry.value, forKey: AnyKey(stringValue: entry.key)) }
        case .list(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        default:
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .double(let value): try container.encode(value.isFinite ? value : 0)
            case .string(let value): try container.encode(value)
            case .bytes(let value): try container.encode(Data(value).base64EncodedString())
            case .timestamp(let date): try container.encode(date.timeIntervalSince1970)
            case .map, .list: break
            }
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

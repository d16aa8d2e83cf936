import Foundation
import HealthCore

/// A JSON value received from QEMU or its guest agent.
public enum QMPValue: Sendable, Hashable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([QMPValue])
    case object([String: QMPValue])

    /// Deepest nesting accepted from a peer: QMP answers are shallow, a deep one is hostile.
    static let maxDepth = 64

    /// Parses one line from a peer: nil when it is not JSON or nests deeper than ``maxDepth``.
    static func parse(_ line: some Collection<UInt8>) -> QMPValue? {
        guard JSONNesting.depth(of: line, stoppingAbove: maxDepth) <= maxDepth else { return nil }
        return try? JSONDecoder().decode(QMPValue.self, from: Data(line))
    }


    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([QMPValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: QMPValue].self))
        }
    }

    /// The member `key` of an object, nil otherwise.
    public subscript(key: String) -> QMPValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    public var array: [QMPValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// The value as JSON text.
    public var json: String {
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
            return "\(value)"
        case .string(let text): return Self.quote(text)
        case .array(let values): return "[" + values.map(\.json).joined(separator: ",") + "]"
        case .object(let members):
            let body = members.keys.sorted().map { Self.quote($0) + ":" + members[$0]!.json }
            return "{" + body.joined(separator: ",") + "}"
        }
    }

    public var description: String { json }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    result += String(format: "\\u%04x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

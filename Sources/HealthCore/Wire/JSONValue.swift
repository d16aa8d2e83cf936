/// Any JSON value: the one JSON model of hive-health (QMP and guest agent replies, OVSDB's JSON-RPC, Hive's records,
/// parameters). Parsed from untrusted bytes with bounds on size and nesting (``init(parsing:maxDepth:maxBytes:)``)
/// and written back as compact JSON with sorted keys (``json``).
public enum JSONValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The nesting accepted by default: no protocol hive-health speaks nests deeper, a deeper text is hostile.
    public static let defaultMaxDepth = 64
    /// The size accepted by default (64 MiB).
    public static let defaultMaxBytes = 64 << 20

    /// Why bytes are not (acceptable) JSON.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, and where (a byte offset).
        public var message: String
        public var description: String { message }
    }

    /// Parses one JSON text (surrounding whitespace allowed): at most `maxBytes` long and nested at most `maxDepth`
    /// deep, both checked before anything is built.
    public init(
        parsing bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes
    ) throws(ParseError) {
        guard bytes.count <= maxBytes else { throw ParseError(message: "JSON text over \(maxBytes) bytes") }
        guard JSONNesting.depth(of: bytes, stoppingAbove: maxDepth) <= maxDepth else {
            throw ParseError(message: "JSON nested over \(maxDepth) levels")
        }
        var parser = JSONParser(Array(bytes))
        self = try parser.document()
    }

    /// Parses `bytes` with the default bounds; nil when they are not JSON or exceed a bound.
    public static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
        try? JSONValue(parsing: bytes)
    }

    /// Parses `text` with the default bounds; nil when it is not JSON or exceeds a bound.
    public static func parse(_ text: String) -> JSONValue? {
        try? JSONValue(parsing: Array(text.utf8))
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
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .number(let value): try container.encode(value)
        case .string(let text): try container.encode(text)
        case .array(let values): try container.encode(values)
        case .object(let members): try container.encode(members)
        }
    }

    /// The JSON type's name, for messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The member `key` of an object (nil for a missing member, JSON null or a non-object).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self, let value = members[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    /// The element at `index` of an array (nil out of range or for a non-array).
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let values) = self, values.indices.contains(index) else { return nil }
        return values[index]
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The number when it is a whole number that fits an `Int`.
    public var integer: Int? {
        if case .number(let value) = self { return Int(exactly: value) }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var object: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value as compact JSON text, object keys sorted.
    public var json: String {
        var text = ""
        write(to: &text)
        return text
    }

    /// ``json`` as UTF-8 bytes.
    public var jsonBytes: [UInt8] { Array(json.utf8) }

    public var description: String { json }

    private func write(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let flag): text += flag ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 {
                text += String(Int64(value))
            } else if value.isFinite {
                text += "\(value)"
            } else {
                text += "null"
            }
        case .string(let string): Self.quote(string, into: &text)
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.write(to: &text)
            }
            text += "]"
        case .object(let members):
            text += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                Self.quote(key, into: &text)
                text += ":"
                members[key]!.write(to: &text)
            }
            text += "}"
        }
    }

    private static let hexDigits = Array("0123456789abcdef".unicodeScalars)

    private static func quote(_ string: String, into text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    text += "\\u00"
                    text.unicodeScalars.append(hexDigits[Int(scalar.value >> 4)])
                    text.unicodeScalars.append(hexDigits[Int(scalar.value & 0xf)])
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// A recursive-descent reader of one JSON text (RFC 8259); its callers bound size and nesting first.
private struct JSONParser {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func document() throws(JSONValue.ParseError) -> JSONValue {
        let value = try self.value()
        skipWhitespace()
        guard offset == bytes.count else { throw failure("data after the JSON text") }
        return value
    }

    private func failure(_ what: String) -> JSONValue.ParseError {
        JSONValue.ParseError(message: "not JSON: \(what) at byte \(offset)")
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0a, 0x0d, 0x09: offset += 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONValue.ParseError) -> JSONValue {
        skipWhitespace()
        guard offset < bytes.count else { throw failure("end of input") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected byte \(bytes[offset])")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONValue.ParseError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw failure("truncated literal") }
        for index in 0..<count where bytes[offset + index] != word.utf8Start[index] {
            throw failure("bad literal")
        }
        offset += count
        return value
    }

    private mutating func expect(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    private mutating func object() throws(JSONValue.ParseError) -> JSONValue {
        offset += 1
        var members: [String: JSONValue] = [:]
        if expect(UInt8(ascii: "}")) { return .object(members) }
        repeat {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw failure("expected a key") }
            let key = try string()
            guard expect(UInt8(ascii: ":")) else { throw failure("expected ':'") }
            members[key] = try value()
        } while expect(UInt8(ascii: ","))
        guard expect(UInt8(ascii: "}")) else { throw failure("expected ',' or '}'") }
        return .object(members)
    }

    private mutating func array() throws(JSONValue.ParseError) -> JSONValue {
        offset += 1
        var values: [JSONValue] = []
        if expect(UInt8(ascii: "]")) { return .array(values) }
        repeat {
            values.append(try value())
        } while expect(UInt8(ascii: ","))
        guard expect(UInt8(ascii: "]")) else { throw failure("expected ',' or ']'") }
        return .array(values)
    }

    private mutating func number() throws(JSONValue.ParseError) -> Double {
        let start = offset
        func digits(_ offset: inout Int, _ bytes: [UInt8]) -> Int {
            let from = offset
            while offset < bytes.count, bytes[offset] >= UInt8(ascii: "0"), bytes[offset] <= UInt8(ascii: "9") {
                offset += 1
            }
            return offset - from
        }
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        let integerStart = offset
        guard digits(&offset, bytes) > 0 else { throw failure("a number without digits") }
        if bytes[integerStart] == UInt8(ascii: "0"), offset - integerStart > 1 { throw failure("a leading zero") }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard digits(&offset, bytes) > 0 else { throw failure("no digits after '.'") }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                offset += 1
            }
            guard digits(&offset, bytes) > 0 else { throw failure("no digits in the exponent") }
        }
        guard let value = Double(String(decoding: bytes[start..<offset], as: UTF8.self)) else {
            throw failure("a bad number")
        }
        return value
    }

    private mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw failure("a truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    private mutating func string() throws(JSONValue.ParseError) -> String {
        offset += 1
        var scalars = String.UnicodeScalarView()
        var runStart = offset
        var result = ""
        func flush(_ end: Int, _ result: inout String, _ bytes: [UInt8]) {
            if end > runStart { result += String(decoding: bytes[runStart..<end], as: UTF8.self) }
        }
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                flush(offset, &result, bytes)
                offset += 1
                return result
            }
            if byte < 0x20 { throw failure("a control character in a string") }
            guard byte == UInt8(ascii: "\\") else {
                offset += 1
                continue
            }
            flush(offset, &result, bytes)
            offset += 1
            guard offset < bytes.count else { break }
            let escape = bytes[offset]
            offset += 1
            scalars.removeAll()
            switch escape {
            case UInt8(ascii: "\""): result += "\""
            case UInt8(ascii: "\\"): result += "\\"
            case UInt8(ascii: "/"): result += "/"
            case UInt8(ascii: "b"): result += "\u{8}"
            case UInt8(ascii: "f"): result += "\u{c}"
            case UInt8(ascii: "n"): result += "\n"
            case UInt8(ascii: "r"): result += "\r"
            case UInt8(ascii: "t"): result += "\t"
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"),
                    bytes[offset + 1] == UInt8(ascii: "u")
                {
                    offset += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        scalars.append("\u{FFFD}")
                        code = low
                    }
                }
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                result.unicodeScalars.append(contentsOf: scalars)
            default: throw failure("a bad escape")
            }
            runStart = offset
        }
        throw failure("an unterminated string")
    }
}

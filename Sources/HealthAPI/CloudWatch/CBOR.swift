import Foundation

/// A bounded CBOR (RFC 8949) codec for the `smithy-rpc-v2-cbor` protocol: definite and indefinite lengths, tag 1 as a
/// timestamp, half/single/double floats. Decoding is total: any bytes give a ``WireValue`` or a ``CBOR/DecodeError``
/// (never a trap), within ``CBOR/Limits``.
public enum CBOR {
    /// Why a document could not be decoded.
    public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// What a hostile document may cost.
    public struct Limits: Sendable {
        /// The deepest nesting of arrays, maps and tags.
        public var maxDepth = 32
        /// The most items (values, keys included) in one document.
        public var maxItems = 100_000
        public init() {}
    }

    public static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) -> WireValue {
        var reader = Reader(bytes: bytes, limits: limits)
        let value = try reader.value(depth: 0)
        guard reader.position == bytes.count else { throw DecodeError("trailing bytes after the CBOR item") }
        return value
    }

    public static func encode(_ value: WireValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    static func head(_ major: UInt8, _ argument: UInt64, into out: inout [UInt8]) {
        let type = major << 5
        switch argument {
        case 0..<24: out.append(type | UInt8(argument))
        case 24...0xFF: out += [type | 24, UInt8(argument)]
        case 0x100...0xFFFF: out += [type | 25, UInt8(argument >> 8), UInt8(argument & 0xFF)]
        case 0x1_0000...0xFFFF_FFFF:
            out.append(type | 26)
            for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8((argument >> UInt64(shift)) & 0xFF)) }
        default:
            out.append(type | 27)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((argument >> UInt64(shift)) & 0xFF)) }
        }
    }

    static func write(_ value: WireValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(0xF6)
        case .bool(let flag): out.append(flag ? 0xF5 : 0xF4)
        case .integer(let number):
            if number >= 0 {
                head(0, UInt64(number), into: &out)
            } else {
                head(1, UInt64(-(number + 1)), into: &out)
            }
        case .double(let number): writeDouble(number, into: &out)
        case .string(let text):
            head(3, UInt64(text.utf8.count), into: &out)
            out += text.utf8
        case .bytes(let data):
            head(2, UInt64(data.count), into: &out)
            out += data
        case .timestamp(let date):
            head(6, 1, into: &out)
            writeDouble(date.timeIntervalSince1970, into: &out)
        case .list(let items):
            head(4, UInt64(items.count), into: &out)
            for item in items { write(item, into: &out) }
        case .map(let entries):
            head(5, UInt64(entries.count), into: &out)
            for entry in entries {
                write(.string(entry.key), into: &out)
                write(entry.value, into: &out)
            }
        }
    }

    static func writeDouble(_ number: Double, into out: inout [UInt8]) {
        out.append(0xFB)
        let bits = number.bitPattern
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((bits >> UInt64(shift)) & 0xFF)) }
    }

    struct Reader {
        let bytes: [UInt8]
        let limits: Limits
        var position = 0
        var items = 0

        mutating func byte() throws(DecodeError) -> UInt8 {
            guard position < bytes.count else { throw DecodeError("the CBOR document ends early") }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func take(_ count: UInt64) throws(DecodeError) -> ArraySlice<UInt8> {
            guard count <= UInt64(bytes.count - position) else { throw DecodeError("a CBOR length runs past the end") }
            let end = position + Int(count)
            defer { position = end }
            return bytes[position..<end]
        }

        /// The argument of a head: nil for an indefinite length (additional information 31).
        mutating func argument(_ info: UInt8) throws(DecodeError) -> UInt64? {
            switch info {
            case 0..<24: return UInt64(info)
            case 24...27:
                var value: UInt64 = 0
                for byte in try take(1 << UInt64(info - 24)) { value = value << 8 | UInt64(byte) }
                return value
            case 31: return nil
            default: throw DecodeError("reserved CBOR additional information \(info)")
            }
        }

        mutating func value(depth: Int) throws(DecodeError) -> WireValue {
            guard depth <= limits.maxDepth else { throw DecodeError("CBOR nested deeper than \(limits.maxDepth)") }
            items += 1
            guard items <= limits.maxItems else { throw DecodeError("more than \(limits.maxItems) CBOR items") }
            let initial = try byte()
            let major = initial >> 5
            let info = initial & 0x1F
            switch major {
            case 0:
                guard let value = try argument(info) else { throw DecodeError("an indefinite CBOR integer") }
                guard value <= UInt64(Int64.max) else { return .double(Double(value)) }
                return .integer(Int64(value))
            case 1:
                guard let value = try argument(info) else { throw DecodeError("an indefinite CBOR integer") }
                guard value <= UInt64(Int64.max) else { return .double(-1 - Double(value)) }
                return .integer(-1 - Int64(value))
            case 2: return .bytes(try string(major: 2, info: info))
            case 3:
                guard let text = String(validating: try string(major: 3, info: info), as: UTF8.self) else {
                    throw DecodeError("a CBOR text string is not valid UTF-8")
                }
                return .string(text)
            case 4:
                var result: [WireValue] = []
                if let count = try argument(info) {
                    // Each item takes at least a byte: a count beyond the bytes left is a lie.
                    guard count <= UInt64(bytes.count - position) else { throw DecodeError("a CBOR array too long") }
                    for _ in 0..<count { result.append(try value(depth: depth + 1)) }
                } else {
                    while try !atBreak() { result.append(try value(depth: depth + 1)) }
                }
                return .list(result)
            case 5:
                var entries: [WireValue.Entry] = []
                func entry(_ reader: inout Reader) throws(DecodeError) {
                    guard case .string(let key) = try reader.value(depth: depth + 1) else {
                        throw DecodeError("a CBOR map key is not a text string")
                    }
                    entries.append(WireValue.Entry(key, try reader.value(depth: depth + 1)))
                }
                if let count = try argument(info) {
                    guard count <= UInt64(bytes.count - position) / 2 else { throw DecodeError("a CBOR map too long") }
                    for _ in 0..<count { try entry(&self) }
                } else {
                    while try !atBreak() { try entry(&self) }
                }
                return .map(entries)
            case 6:
                guard let tag = try argument(info) else { throw DecodeError("an indefinite CBOR tag") }
                let tagged = try value(depth: depth + 1)
                guard tag == 1 else { return tagged }
                guard let seconds = tagged.number, seconds.isFinite, abs(seconds) < 1e11 else {
                    throw DecodeError("CBOR tag 1 holds no epoch time")
                }
                return .timestamp(Date(timeIntervalSince1970: seconds))
            default:
                return try simple(info)
            }
        }

        mutating func atBreak() throws(DecodeError) -> Bool {
            guard position < bytes.count else { throw DecodeError("an indefinite CBOR item is not closed") }
            guard bytes[position] == 0xFF else { return false }
            position += 1
            return true
        }

        mutating func string(major: UInt8, info: UInt8) throws(DecodeError) -> [UInt8] {
            if let length = try argument(info) { return Array(try take(length)) }
            var result: [UInt8] = []
            while try !atBreak() {
                let chunk = try byte()
                guard chunk >> 5 == major, let length = try argument(chunk & 0x1F) else {
                    throw DecodeError("a chunk of an indefinite CBOR string is not a definite string of its type")
                }
                result += try take(length)
            }
            return result
        }

        mutating func simple(_ info: UInt8) throws(DecodeError) -> WireValue {
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22, 23: return .null
            case 25:
                let raw = try take(2)
                let bits = UInt16(raw[raw.startIndex]) << 8 | UInt16(raw[raw.startIndex + 1])
                return .double(Double(Float16(bitPattern: bits)))
            case 26:
                var bits: UInt32 = 0
                for byte in try take(4) { bits = bits << 8 | UInt32(byte) }
                return .double(Double(Float(bitPattern: bits)))
            case 27:
                var bits: UInt64 = 0
                for byte in try take(8) { bits = bits << 8 | UInt64(byte) }
                return .double(Double(bitPattern: bits))
            default: throw DecodeError("unsupported CBOR simple value \(info)")
            }
        }
    }
}

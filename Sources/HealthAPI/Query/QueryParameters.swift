/// The parameters of one EC2 Query request: `key=value` pairs from a form body or a query string, decoded.
///
/// Parsing is total: any byte sequence gives parameters or a ``EC2Error`` (never a crash), within
/// ``EC2API/maxRequestBytes`` and ``EC2API/maxParameters``.
public struct QueryParameters: Sendable, Hashable {
    /// The decoded pairs in their order of arrival (a repeated key keeps its first value in ``values``).
    public private(set) var pairs: [(key: String, value: String)] = []
    /// Key -> value (the first occurrence).
    public private(set) var values: [String: String] = [:]

    public init() {}

    public init(_ values: [String: String]) {
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { append(key, value) }
    }

    public subscript(key: String) -> String? { values[key] }

    public mutating func append(_ key: String, _ value: String) {
        pairs.append((key, value))
        if values[key] == nil { values[key] = value }
    }

    /// Adds the pairs of `other` (a query string's parameters after the body's, say).
    public mutating func merge(_ other: QueryParameters) {
        for pair in other.pairs { append(pair.key, pair.value) }
    }

    /// Parses `application/x-www-form-urlencoded` text (a body or a URL's query string): `+` is a space, `%XX` a
    /// byte; a malformed escape, invalid UTF-8, too many bytes or too many parameters is `InvalidParameterValue`.
    public static func parse(_ bytes: some Collection<UInt8>) throws(EC2Error) -> QueryParameters {
        guard bytes.count <= EC2API.maxRequestBytes else {
            throw EC2Error(.invalidParameterValue, "The request is larger than \(EC2API.maxRequestBytes) bytes.")
        }
        var result = QueryParameters()
        var key: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        func finish() throws(EC2Error) {
            defer {
                key.removeAll(keepingCapacity: true)
                value.removeAll(keepingCapacity: true)
                inValue = false
            }
            if key.isEmpty && value.isEmpty && !inValue { return }
            guard result.pairs.count < EC2API.maxParameters else {
                throw EC2Error(.invalidParameterValue, "The request has more than \(EC2API.maxParameters) parameters.")
            }
            result.append(try decode(key), try decode(value))
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "&"): try finish()
            case UInt8(ascii: "=") where !inValue: inValue = true
            default:
                if inValue { value.append(byte) } else { key.append(byte) }
            }
        }
        try finish()
        return result
    }

    public static func parse(_ text: String) throws(EC2Error) -> QueryParameters { try parse(Array(text.utf8)) }

    /// Percent-decodes one form component (`+` -> space).
    static func decode(_ bytes: [UInt8]) throws(EC2Error) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                    let low = hexValue(bytes[index + 2])
                else {
                    throw EC2Error(.invalidParameterValue, "The request has a malformed percent escape.")
                }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw EC2Error(.invalidParameterValue, "The request is not valid UTF-8.")
        }
        return text
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `Prefix.1`, `Prefix.2`, ... in index order (AWS's list encoding); gaps end nothing, indices are sorted.
    public func list(_ prefix: String) -> [String] {
        indexed(prefix).map { $0.value }
    }

    /// The `Prefix.N` entries with their index N, sorted by N.
    func indexed(_ prefix: String) -> [(index: Int, value: String)] {
        let dotted = prefix + "."
        var found: [(index: Int, value: String)] = []
        for (key, value) in values where key.hasPrefix(dotted) {
            let rest = key.dropFirst(dotted.count)
            if let index = Int(rest), index >= 1 { found.append((index, value)) }
        }
        return found.sorted { $0.index < $1.index }
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool { lhs.values == rhs.values }
    public func hash(into hasher: inout Hasher) { hasher.combine(values) }
}

/// Cuts a byte stream of concatenated JSON texts (OVSDB's wire format: no delimiters) into whole texts, by counting
/// brackets outside strings. A text longer than `maxBytes`, or bytes between texts that cannot start one, are a
/// protocol violation: the caller closes the connection.
struct JSONStreamFramer: Sendable {
    let maxBytes: Int
    private var current: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// Appends `bytes`; returns the texts they complete.
    mutating func feed(_ bytes: some Collection<UInt8>) throws(NetworkError) -> [[UInt8]] {
        var texts: [[UInt8]] = []
        for byte in bytes {
            if depth == 0 {
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    break
                default:
                    throw NetworkError(.protocolViolation, "byte \(byte) outside a JSON object")
                }
            }
            current.append(byte)
            if current.count > maxBytes {
                throw NetworkError(.protocolViolation, "a message over \(maxBytes) bytes")
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    texts.append(current)
                    current = []
                }
            default: break
            }
            // Nesting this deep is no OVSDB reply: refuse it before a parser has to recurse through it.
            if depth > 64 { throw NetworkError(.protocolViolation, "JSON nested over 64 levels") }
        }
        return texts
    }
}

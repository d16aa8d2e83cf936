import HealthCore
import HealthIO

/// Cuts OVSDB's wire format (concatenated JSON texts, no delimiters) into whole texts with HealthCore's
/// ``JSONNesting``. A text longer than `maxBytes`, nested deeper than `maxDepth`, or bytes between texts that
/// cannot start one are a protocol violation: the connection closes.
struct JSONStreamFramer: FrameDecoder {
    let maxBytes: Int
    let maxDepth: Int
    private var current: [UInt8] = []
    private var nesting = JSONNesting()

    init(maxBytes: Int, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    mutating func decode(_ bytes: some Collection<UInt8>, into texts: inout [[UInt8]]) throws(IOError) {
        for byte in bytes {
            if nesting.depth == 0 {
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    break
                default:
                    throw IOError(.protocolViolation, "byte \(byte) outside a JSON object")
                }
            }
            current.append(byte)
            if current.count > maxBytes { throw IOError(.frameTooLong, "a message over \(maxBytes) bytes") }
            if nesting.scan(byte) {
                texts.append(current)
                current = []
            }
            // Refused before a parser has to recurse through it.
            if nesting.depth > maxDepth { throw IOError(.protocolViolation, "JSON nested over \(maxDepth) levels") }
        }
    }
}

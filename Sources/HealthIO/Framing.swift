/// How a byte stream is cut into messages: newline-terminated lines (QMP, the guest agent) or concatenated JSON
/// texts with no delimiter (OVSDB, RFC 7047). Every frame is bounded; a peer that exceeds the bound is refused.
public enum Framing: Sendable, Hashable {
    /// Lines of at most `maxBytes` (without the newline); a trailing `\r` is dropped, empty lines are skipped.
    case lines(maxBytes: Int)
    /// JSON objects or arrays of at most `maxBytes`, nested at most `maxDepth` deep, whitespace between them.
    case jsonValues(maxBytes: Int, maxDepth: Int = 64)
}

/// Cuts bytes into frames as they arrive, per ``Framing``.
public struct FrameSplitter: Sendable {
    public let framing: Framing
    private var current: [UInt8] = []
    // JSON texts: brackets counted outside strings.
    private var depth = 0
    private var inString = false
    private var escaped = false

    public init(_ framing: Framing) {
        self.framing = framing
    }

    /// Appends `bytes`; returns the frames they complete, or throws when the peer broke the framing (nothing more
    /// can be read from that stream).
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(IOError) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        try feed(bytes, into: &frames)
        return frames
    }

    /// Appends `bytes` and the frames they complete to `frames`; the frames completed before a broken one are kept.
    public mutating func feed(_ bytes: some Collection<UInt8>, into frames: inout [[UInt8]]) throws(IOError) {
        switch framing {
        case .lines(let maxBytes): try feedLines(bytes, maxBytes: maxBytes, into: &frames)
        case .jsonValues(let maxBytes, let maxDepth):
            try feedJSON(bytes, maxBytes: maxBytes, maxDepth: maxDepth, into: &frames)
        }
    }

    private mutating func feedLines(
        _ bytes: some Collection<UInt8>, maxBytes: Int, into lines: inout [[UInt8]]
    ) throws(IOError) {
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else {
                current.append(byte)
                // One byte of slack for a `\r` that is dropped.
                if current.count > maxBytes + 1 { throw IOError(.frameTooLong, "a line over \(maxBytes) bytes") }
                continue
            }
            var line = current
            current.removeAll(keepingCapacity: true)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.count > maxBytes { throw IOError(.frameTooLong, "a line over \(maxBytes) bytes") }
            if !line.isEmpty { lines.append(line) }
        }
    }

    private mutating func feedJSON(
        _ bytes: some Collection<UInt8>, maxBytes: Int, maxDepth: Int, into texts: inout [[UInt8]]
    ) throws(IOError) {
        for byte in bytes {
            if depth == 0 {
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
            // Refused before a parser has to recurse through it.
            if depth > maxDepth { throw IOError(.protocolViolation, "JSON nested over \(maxDepth) levels") }
        }
    }
}

/// Cuts a byte stream into messages as bytes arrive (``FramedSocket`` feeds it). Every frame is bounded: a peer that
/// exceeds the bound or breaks the framing is refused with an ``IOError``, and nothing more is read from it.
public protocol FrameDecoder: Sendable {
    /// Appends `bytes` and the frames they complete to `frames`; frames completed before a broken one are kept.
    mutating func decode(_ bytes: some Collection<UInt8>, into frames: inout [[UInt8]]) throws(IOError)
}

extension FrameDecoder {
    /// The frames `bytes` complete.
    public mutating func decode(_ bytes: some Collection<UInt8>) throws(IOError) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        try decode(bytes, into: &frames)
        return frames
    }
}

/// Newline-terminated lines (QMP, the guest agent) of at most `maxBytes` without the newline; a trailing `\r` is
/// dropped and empty lines are skipped.
public struct LineFramer: FrameDecoder {
    public let maxBytes: Int
    private var current: [UInt8] = []

    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    public mutating func decode(_ bytes: some Collection<UInt8>, into lines: inout [[UInt8]]) throws(IOError) {
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
}

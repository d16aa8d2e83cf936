/// How deeply JSON text nests `[` and `{` (outside strings), counted without parsing, byte by byte: so a hostile
/// `[[[[...` is refused before a recursive parser sees it (``JSONValue``, the CloudWatch JSON protocol), and a
/// stream of JSON texts with no delimiter (OVSDB) can be cut where a text ends.
public struct JSONNesting: Sendable, Hashable {
    /// The nesting after the bytes scanned so far (0 between texts).
    public private(set) var depth = 0
    private var inString = false
    private var escaped = false

    public init() {}

    /// Advances over `byte`; returns true when it closed the outermost `]` or `}` (a whole text ended).
    @discardableResult
    public mutating func scan(_ byte: UInt8) -> Bool {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            return false
        }
        switch byte {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
        case UInt8(ascii: "]"), UInt8(ascii: "}"):
            depth -= 1
            return depth == 0
        default: break
        }
        return false
    }

    /// The deepest nesting in `bytes`; the count stops once it passes `limit` (the result is then `limit + 1`).
    public static func depth(of bytes: some Collection<UInt8>, stoppingAbove limit: Int = .max) -> Int {
        var nesting = JSONNesting()
        var deepest = 0
        for byte in bytes {
            nesting.scan(byte)
            deepest = max(deepest, nesting.depth)
            if deepest > limit { return deepest }
        }
        return deepest
    }
}

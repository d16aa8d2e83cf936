/// How deeply JSON text nests `[` and `{` (outside strings), counted without parsing, so a hostile `[[[[...` is
/// refused before a recursive decoder sees it. Used by the QMP reader and the CloudWatch JSON protocol.
public enum JSONNesting {
    /// The deepest nesting in `bytes`; the count stops once it passes `limit` (the result is then `limit + 1`).
    public static func depth(of bytes: some Collection<UInt8>, stoppingAbove limit: Int = .max) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
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
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > limit { return deepest }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}

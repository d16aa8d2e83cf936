/// Splits Swift source into ``SwiftToken``s: comments (nested block comments too) are dropped, string literals
/// (single-line, multi-line, raw, with interpolations) and `#/.../#` regex literals become one token each, so a
/// declaration written inside a comment or a string is never seen as code.
///
/// Bare `/.../` regex literals are read as operators; they cannot hide a declaration unless they hold `{` or `"`.
public struct SwiftTokenizer {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var tokens: [SwiftToken] = []

    /// Tokenizes `source`.
    public static func tokens(_ source: String) -> [SwiftToken] {
        var tokenizer = SwiftTokenizer(bytes: Array(source.utf8))
        tokenizer.run()
        return tokenizer.tokens
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") { line += 1 }
        index += 1
    }

    private mutating func run() {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
                while let next = peek(), next != UInt8(ascii: "\n") { advance() }
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                skipBlockComment()
            case UInt8(ascii: "\""):
                string(hashes: 0)
            case UInt8(ascii: "#") where startsRawLiteral():
                rawLiteral()
            case UInt8(ascii: "`"):
                let start = line
                advance()
                let begin = index
                while let next = peek(), next != UInt8(ascii: "`"), next != UInt8(ascii: "\n") { advance() }
                tokens.append(SwiftToken(.identifier, text(begin, index), line: start))
                if peek() == UInt8(ascii: "`") { advance() }
            case _ where Self.isIdentifierHead(byte):
                let begin = index
                while let next = peek(), Self.isIdentifierBody(next) { advance() }
                tokens.append(SwiftToken(.identifier, text(begin, index), line: line))
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let begin = index
                while let next = peek(), Self.isIdentifierBody(next) || next == UInt8(ascii: ".") && isDigit(1) {
                    advance()
                }
                tokens.append(SwiftToken(.number, text(begin, index), line: line))
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                advance()
            default:
                tokens.append(SwiftToken(.punctuation, String(decoding: [byte], as: UTF8.self), line: line))
                advance()
            }
        }
    }

    private func isDigit(_ offset: Int) -> Bool {
        guard let byte = peek(offset) else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func text(_ begin: Int, _ end: Int) -> String { String(decoding: bytes[begin..<end], as: UTF8.self) }

    private static func isIdentifierHead(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
    }

    private static func isIdentifierBody(_ byte: UInt8) -> Bool {
        isIdentifierHead(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private mutating func skipBlockComment() {
        var depth = 0
        while let byte = peek() {
            if byte == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                depth += 1
                advance()
                advance()
            } else if byte == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                depth -= 1
                advance()
                advance()
                if depth == 0 { return }
            } else {
                advance()
            }
        }
    }

    /// `#"`, `##"""`, `#/`: a raw string or an extended regex literal starts here.
    private func startsRawLiteral() -> Bool {
        var offset = 0
        while peek(offset) == UInt8(ascii: "#") { offset += 1 }
        return peek(offset) == UInt8(ascii: "\"") || peek(offset) == UInt8(ascii: "/")
    }

    private mutating func rawLiteral() {
        var hashes = 0
        while peek() == UInt8(ascii: "#") {
            hashes += 1
            advance()
        }
        if peek() == UInt8(ascii: "\"") {
            string(hashes: hashes)
            return
        }
        // `#/regex/#`: up to `/` and as many `#`.
        let start = line
        advance()
        while peek() != nil {
            if peek() == UInt8(ascii: "/"), closes(hashes: hashes, after: 1) {
                for _ in 0...hashes { advance() }
                break
            }
            advance()
        }
        tokens.append(SwiftToken(.string(interpolated: true), "", line: start))
    }

    /// `hashes` `#` characters follow at `offset`.
    private func closes(hashes: Int, after offset: Int) -> Bool {
        (0..<hashes).allSatisfy { peek(offset + $0) == UInt8(ascii: "#") }
    }

    /// A string literal from its opening quote, `hashes` being its raw delimiter count.
    private mutating func string(hashes: Int) {
        let start = line
        let multiline = peek(1) == UInt8(ascii: "\"") && peek(2) == UInt8(ascii: "\"")
        for _ in 0..<(multiline ? 3 : 1) { advance() }
        var contents: [UInt8] = []
        var interpolated = false
        while let byte = peek() {
            if byte == UInt8(ascii: "\\"), closes(hashes: hashes, after: 1) {
                // An escape (`\n`, `\"`) or an interpolation `\(...)`, after the raw delimiter's `#`s.
                for _ in 0...hashes { advance() }
                if peek() == UInt8(ascii: "(") {
                    interpolated = true
                    skipInterpolation()
                } else if let escaped = peek() {
                    contents.append(escaped)
                    advance()
                }
                continue
            }
            if byte == UInt8(ascii: "\"") {
                let quotes = multiline ? 3 : 1
                if (0..<quotes).allSatisfy({ peek($0) == UInt8(ascii: "\"") }), closes(hashes: hashes, after: quotes) {
                    for _ in 0..<(quotes + hashes) { advance() }
                    break
                }
            }
            if byte == UInt8(ascii: "\n"), !multiline { break }
            contents.append(byte)
            advance()
        }
        tokens.append(
            SwiftToken(.string(interpolated: interpolated), String(decoding: contents, as: UTF8.self), line: start))
    }

    /// From `(` of an interpolation to its `)`, over nested parentheses, strings and comments.
    private mutating func skipInterpolation() {
        var depth = 0
        let saved = tokens.count
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "("):
                depth += 1
                advance()
            case UInt8(ascii: ")"):
                depth -= 1
                advance()
                if depth == 0 {
                    tokens.removeSubrange(saved...)
                    return
                }
            case UInt8(ascii: "\""):
                string(hashes: 0)
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                skipBlockComment()
            default:
                advance()
            }
        }
        tokens.removeSubrange(saved...)
    }
}

/// Refuses TOML table headers that TOMLKit's parser (toml++ 3.4) does not handle safely.
///
/// toml++ asserts (and in release builds assumes) that a table header's `[` or `[[` is followed by a key or a
/// quote; `[[[x]]]`, `[.a]` or a lone `[` at the end of a line abort the process instead of failing to parse.
/// This scan finds such headers first, tracking strings, comments and multi-line arrays so that values are
/// never mistaken for headers.
enum TOMLPreScan {
    struct Problem: Error {
        var line: Int
        var column: Int
        var message: String
    }

    static func check(_ text: String) throws(Problem) {
        let bytes = Array(text.utf8)
        var depth = 0
        var multiline: [UInt8]? = nil
        var line = 1
        var index = 0
        var lineStart = 0
        var atLineStart = true

        func isBareKey(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        func starts(_ delimiter: [UInt8], at position: Int) -> Bool {
            position + delimiter.count <= bytes.count
                && bytes[position..<position + delimiter.count].elementsEqual(delimiter)
        }

        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A {
                line += 1
                index += 1
                lineStart = index
                atLineStart = true
                continue
            }
            if let delimiter = multiline {
                if starts(delimiter, at: index) {
                    multiline = nil
                    index += delimiter.count
                } else {
                    index += byte == UInt8(ascii: "\\") && delimiter[0] == UInt8(ascii: "\"") ? 2 : 1
                }
                continue
            }
            if byte == 0x20 || byte == 0x09 || byte == 0x0D {
                index += 1
                continue
            }
            if atLineStart, depth == 0, byte == UInt8(ascii: "[") {
                // A table header: `[` or `[[`, blanks, then a key must start.
                var position = index + 1
                var blanks = false
                while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 {
                    position += 1
                    blanks = true
                }
                if !blanks, position < bytes.count, bytes[position] == UInt8(ascii: "[") {
                    position += 1
                    while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
                }
                let next = position < bytes.count ? bytes[position] : 0
                if !(isBareKey(next) || next == UInt8(ascii: "\"") || next == UInt8(ascii: "'")
                    || next == UInt8(ascii: "]"))
                {
                    throw Problem(line: line, column: index - lineStart + 1,
                                  message: "a table header must name a table, e.g. [health]")
                }
                // The header's key may hold quotes and dots: skip to the end of the line.
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                continue
            }
            atLineStart = false
            switch byte {
            case UInt8(ascii: "#"):
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                continue
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let triple = [byte, byte, byte]
                if starts(triple, at: index) {
                    multiline = triple
                    index += 3
                    continue
                }
                index += 1
                while index < bytes.count, bytes[index] != byte, bytes[index] != 0x0A {
                    index += byte == UInt8(ascii: "\"") && bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if index < bytes.count, bytes[index] == byte { index += 1 }
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default:
                break
            }
            index += 1
        }
    }
}

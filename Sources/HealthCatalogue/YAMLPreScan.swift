/// A cheap lexical pass over YAML text that refuses what would make the YAML parser unbounded.
///
/// Yams builds its node tree recursively and hashes whole nodes used as mapping keys, so very deep nesting could
/// overflow the stack and an alias bomb used as a key could take exponential time, both before we see a node.
/// This scan runs first, in one pass over the bytes, and refuses: nesting deeper than ``depthLimit`` (flow
/// brackets plus block indentation and `- ` levels), aliases or collections used as mapping keys, explicit `? `
/// keys, and more than ``aliasLimit`` aliases. It does not validate YAML; libyaml does that afterwards.
struct YAMLPreScan {
    static let depthLimit = 64
    static let aliasLimit = 1_000

    struct Problem: Error {
        var line: Int
        var column: Int
        var message: String
    }

    private let bytes: [UInt8]
    private var flow: [UInt8] = []
    private var blockColumns: [Int] = []
    private var aliases = 0

    private init(bytes: [UInt8]) { self.bytes = bytes }

    static func check(_ bytes: [UInt8]) throws(Problem) {
        var scan = YAMLPreScan(bytes: bytes)
        try scan.run()
    }

    private enum Quote { case none, single, double }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private mutating func run() throws(Problem) {
        var quote = Quote.none
        var blockScalarIndent: Int? = nil
        var lineNumber = 0
        var lineStart = 0
        let count = bytes.count
        while lineStart < count {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            var indent = 0
            while lineStart + indent < lineEnd, bytes[lineStart + indent] == 0x20 { indent += 1 }
            let blank = isBlank(from: lineStart + indent, to: lineEnd)
            if let parent = blockScalarIndent {
                if blank || indent > parent { continue }
                blockScalarIndent = nil
            }
            var position = lineStart
            var tokenStart = true
            var closedCollection = false
            var scalarStartColumn = indent
            if quote == .none && flow.isEmpty {
                if blank || bytes[lineStart + indent] == UInt8(ascii: "#") { continue }
                if startsWithMarker(lineStart, lineEnd) {
                    blockColumns.removeAll()
                    continue
                }
                while let top = blockColumns.last, top > indent { blockColumns.removeLast() }
                try enterBlock(column: indent, line: lineNumber, lineStart: lineStart)
                position = lineStart + indent
            }
            var previous: UInt8 = 0x20
            while position < lineEnd {
                let byte = bytes[position]
                let offset = position - lineStart
                defer {
                    previous = position < count ? bytes[position] : 0x20
                    position += 1
                }
                switch quote {
                case .double:
                    if byte == UInt8(ascii: "\\") {
                        position += 1
                    } else if byte == UInt8(ascii: "\"") {
                        quote = .none
                    }
                    continue
                case .single:
                    if byte == UInt8(ascii: "'") {
                        if position + 1 < lineEnd, bytes[position + 1] == UInt8(ascii: "'") {
                            position += 1
                        } else {
                            quote = .none
                        }
                    }
                    continue
                case .none:
                    break
                }
                if byte == 0x20 || byte == 0x09 || byte == 0x0D { continue }
                if byte == UInt8(ascii: "#"), previous == 0x20 || previous == 0x09 { break }
                let next: UInt8 = position + 1 < lineEnd ? bytes[position + 1] : 0x20
                let nextIsBreak = next == 0x20 || next == 0x09 || next == 0x0D
                let inFlow = !flow.isEmpty
                if byte == UInt8(ascii: ":"), nextIsBreak || inFlow && (closedCollection || isFlowIndicator(next)) {
                    if closedCollection {
                        throw Problem(line: lineNumber, column: columnOf(position, lineStart: lineStart),
                                      message: "a collection used as a mapping key is not supported")
                    }
                    if !inFlow { try enterBlock(column: scalarStartColumn, line: lineNumber, lineStart: lineStart) }
                    tokenStart = true
                    continue
                }
                if inFlow, byte == UInt8(ascii: ",") {
                    tokenStart = true
                    closedCollection = false
                    continue
                }
                if inFlow || tokenStart, byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                    flow.append(byte)
                    try checkDepth(line: lineNumber, position: position, lineStart: lineStart)
                    tokenStart = true
                    closedCollection = false
                    continue
                }
                if inFlow, byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                    flow.removeLast()
                    closedCollection = true
                    tokenStart = false
                    continue
                }
                guard tokenStart else { continue }
                scalarStartColumn = offset
                closedCollection = false
                switch byte {
                case UInt8(ascii: "-") where nextIsBreak && !inFlow:
                    try enterBlock(column: offset, line: lineNumber, lineStart: lineStart)
                case UInt8(ascii: "?") where nextIsBreak:
                    throw Problem(line: lineNumber, column: columnOf(position, lineStart: lineStart),
                                  message: "explicit mapping keys ('? ') are not supported")
                case UInt8(ascii: "\""):
                    quote = .double
                    tokenStart = false
                case UInt8(ascii: "'"):
                    quote = .single
                    tokenStart = false
                case UInt8(ascii: "*"):
                    let aliasPosition = position
                    aliases += 1
                    if aliases > Self.aliasLimit {
                        throw Problem(line: lineNumber, column: columnOf(position, lineStart: lineStart),
                                      message: "more than \(Self.aliasLimit) YAML aliases")
                    }
                    position = skipName(from: position + 1, to: lineEnd) - 1
                    var after = position + 1
                    while after < lineEnd, bytes[after] == 0x20 || bytes[after] == 0x09 { after += 1 }
                    if after < lineEnd, bytes[after] == UInt8(ascii: ":") {
                        throw Problem(line: lineNumber, column: columnOf(aliasPosition, lineStart: lineStart),
                                      message: "an alias used as a mapping key is not supported")
                    }
                    tokenStart = false
                case UInt8(ascii: "&"), UInt8(ascii: "!"):
                    // An anchor or a tag: the node itself follows.
                    position = skipName(from: position + 1, to: lineEnd) - 1
                case UInt8(ascii: "|") where !inFlow, UInt8(ascii: ">") where !inFlow:
                    blockScalarIndent = indent
                    position = lineEnd
                default:
                    tokenStart = false
                    if !inFlow {
                        // A plain scalar: only ': ' or ' #' end it in block context.
                        while position + 1 < lineEnd {
                            let following = bytes[position + 1]
                            let afterFollowing: UInt8 = position + 2 < lineEnd ? bytes[position + 2] : 0x20
                            if following == UInt8(ascii: ":"),
                                afterFollowing == 0x20 || afterFollowing == 0x09 || afterFollowing == 0x0D
                            {
                                break
                            }
                            if following == UInt8(ascii: "#"), bytes[position] == 0x20 || bytes[position] == 0x09 {
                                break
                            }
                            position += 1
                        }
                    }
                }
            }
        }
    }

    /// A block collection starts at byte `column` of the line (if deeper than the current one).
    private mutating func enterBlock(column: Int, line: Int, lineStart: Int) throws(Problem) {
        if let top = blockColumns.last, top >= column { return }
        blockColumns.append(column)
        try checkDepth(line: line, position: lineStart + column, lineStart: lineStart)
    }

    private func checkDepth(line: Int, position: Int, lineStart: Int) throws(Problem) {
        if blockColumns.count + flow.count > Self.depthLimit {
            throw Problem(line: line, column: columnOf(position, lineStart: lineStart),
                          message: "nesting is deeper than \(Self.depthLimit) levels")
        }
    }

    private func isBlank(from start: Int, to end: Int) -> Bool {
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte != 0x20 && byte != 0x09 && byte != 0x0D { return false }
            index += 1
        }
        return true
    }

    private func startsWithMarker(_ start: Int, _ end: Int) -> Bool {
        guard end - start >= 3 else { return false }
        let marker = bytes[start..<start + 3]
        guard marker.elementsEqual("---".utf8) || marker.elementsEqual("...".utf8) else { return false }
        return end - start == 3 || bytes[start + 3] == 0x20 || bytes[start + 3] == 0x0D
    }

    private func isFlowIndicator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
            || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
    }

    private func skipName(from start: Int, to end: Int) -> Int {
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x0D || isFlowIndicator(byte) { break }
            index += 1
        }
        return index
    }

    private func columnOf(_ position: Int, lineStart: Int) -> Int {
        var column = 1
        var index = lineStart
        while index < position {
            if bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return column
    }
}

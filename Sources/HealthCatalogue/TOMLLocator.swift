/// Finds where a dotted key is written in TOML text, since TOMLKit keeps no source positions for values.
///
/// It understands table headers (`[health.thresholds]`), dotted keys (`thresholds.qmp_timeout = ...`) and
/// one-line inline tables (`thresholds = { qmp_timeout = ... }`); otherwise it falls back to the longest
/// prefix of the path it can find, then to 1:1.
enum TOMLLocator {
    static func locate(_ path: [String], in text: String) -> (line: Int, column: Int) {
        var table: [String] = []
        var best: (length: Int, line: Int, column: Int) = (0, 1, 1)
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let indent = rawLine.prefix { $0 == " " || $0 == "\t" }.count
            let content = rawLine.dropFirst(indent)
            if content.hasPrefix("[") {
                let inner = content.drop { $0 == "[" }.prefix { $0 != "]" }
                table = splitKey(inner)
                let length = commonPrefix(table, path)
                if length == table.count, length > best.length { best = (length, line, indent + 1) }
                continue
            }
            guard let equals = content.firstIndex(of: "="), !content.hasPrefix("#") else { continue }
            let key = table + splitKey(content[..<equals])
            let length = commonPrefix(key, path)
            guard length == key.count, length > best.length else { continue }
            best = (length, line, indent + 1)
            if length == path.count { return (line, indent + 1) }
            // An inline table on this line: look for the remaining key inside it.
            if let inner = content.firstRange(of: path[length]) {
                let column = indent + content.distance(from: content.startIndex, to: inner.lowerBound) + 1
                best = (path.count, line, column)
                return (line, column)
            }
        }
        return (best.line, best.column)
    }

    private static func splitKey(_ text: Substring) -> [String] {
        text.split(separator: ".").map { part in
            var trimmed = part.trimmed(of: " \t")
            if trimmed.count >= 2, let first = trimmed.first, first == "\"" || first == "'", trimmed.last == first {
                trimmed = String(trimmed.dropFirst().dropLast())
            }
            return trimmed
        }
    }

    private static func commonPrefix(_ lhs: [String], _ rhs: [String]) -> Int {
        var count = 0
        while count < lhs.count, count < rhs.count, lhs[count] == rhs[count] { count += 1 }
        return count
    }
}

extension Substring {
    fileprivate func trimmed(of set: String) -> String {
        var slice = self
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

import ProbeKit

/// The output of a Nagios-compatible plugin: the first line's text, and its performance data.
///
/// Format: `TEXT | perfdata` on the first line, optional long text on the following lines where a `|` starts more
/// perfdata. Perfdata items are `'label'=value[UOM];warn;crit;min;max`, separated by spaces.
public struct PluginOutput: Sendable, Hashable {
    /// The first line's text, before any `|`.
    public var text: String
    /// The lines after the first, up to any `|`.
    public var longText: [String]
    /// Perfdata values by label, in base units (seconds, bytes); unparsable items are left out.
    public var performance: [String: Double]

    public init(parsing output: String) {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        var text = ""
        var longText: [String] = []
        var perfdata: [Substring] = []
        var inPerfdata = false
        for (index, line) in lines.enumerated() {
            if inPerfdata {
                perfdata.append(line)
                continue
            }
            let pipe = line.firstIndex(of: "|")
            let before = pipe.map { line[..<$0] } ?? line
            if index == 0 {
                text = before.trimmed
                if let pipe { perfdata.append(line[line.index(after: pipe)...]) }
            } else {
                if !before.trimmed.isEmpty { longText.append(before.trimmed) }
                // A `|` in the long text starts perfdata that runs to the end of the output.
                if let pipe {
                    perfdata.append(line[line.index(after: pipe)...])
                    inPerfdata = true
                }
            }
        }
        self.text = text
        self.longText = longText
        var performance: [String: Double] = [:]
        for chunk in perfdata {
            for (label, value) in Self.parsePerfdata(chunk) { performance[label] = value }
        }
        self.performance = performance
    }

    /// `'label'=value[UOM];...` items; a malformed item is skipped, the rest are still read.
    static func parsePerfdata(_ text: Substring) -> [(String, Double)] {
        var items: [(String, Double)] = []
        var index = text.startIndex
        while index < text.endIndex {
            while index < text.endIndex, text[index] == " " || text[index] == "\t" { index = text.index(after: index) }
            guard index < text.endIndex else { break }
            var label = ""
            if text[index] == "'" {
                // Quoted label: '' is a literal quote.
                index = text.index(after: index)
                var closed = false
                while index < text.endIndex {
                    let character = text[index]
                    index = text.index(after: index)
                    if character == "'" {
                        if index < text.endIndex, text[index] == "'" {
                            label.append("'")
                            index = text.index(after: index)
                        } else {
                            closed = true
                            break
                        }
                    } else {
                        label.append(character)
                    }
                }
                guard closed else { break }
            } else {
                while index < text.endIndex, text[index] != "=", text[index] != " " {
                    label.append(text[index])
                    index = text.index(after: index)
                }
            }
            let valueStart = index
            while index < text.endIndex, text[index] != " ", text[index] != "\t" { index = text.index(after: index) }
            let rest = text[valueStart..<index]
            guard !label.isEmpty, rest.first == "=", let value = Self.value(rest.dropFirst()) else { continue }
            items.append((label, value))
        }
        return items
    }

    /// `12.5ms;100;200;0;` -> 0.0125: the number before the first `;`, scaled by its unit of measure.
    static func value(_ field: Substring) -> Double? {
        let head = field.prefix { $0 != ";" }
        let numberEnd = head.firstIndex { !($0.isASCII && ($0.isNumber || "+-.eE".contains($0))) }
        let numberText = numberEnd.map { head[..<$0] } ?? head
        let unit = numberEnd.map { head[$0...] } ?? ""
        guard let number = Double(numberText), number.isFinite else { return nil }
        let scale: Double
        switch unit {
        case "", "%", "c", "B", "s": scale = 1
        case "ms": scale = 1e-3
        case "us": scale = 1e-6
        case "KB": scale = 1024
        case "MB": scale = 1024 * 1024
        case "GB": scale = 1024 * 1024 * 1024
        case "TB": scale = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        return number * scale
    }
}

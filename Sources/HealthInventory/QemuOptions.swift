import Foundation
import HealthCore

/// One QEMU option value (`-chardev socket,id=x,path=/p`, `-blockdev {"driver":"nbd",...}`) as key/value pairs.
///
/// QEMU's comma syntax doubles a comma to escape it; the first element may be an implied value without `=`
/// (`socket`, `tap`, `unix:/path`), later ones without `=` are flags (`server`, `nowait`). A JSON object value is
/// flattened to dotted keys (`server.path`), so both spellings read the same.
struct QemuOptions: Sendable {
    /// The first element when it has no `=`.
    var implied: String?
    var pairs: [(key: String, value: String)]

    subscript(key: String) -> String? {
        pairs.first { $0.key == key }?.value
    }

    init(implied: String?, pairs: [(key: String, value: String)]) {
        self.implied = implied
        self.pairs = pairs
    }

    init(parsing text: String) {
        let trimmed = text.drop { $0 == " " }
        if trimmed.first == "{", let json = Self.flattenJSON(String(trimmed)) {
            self.init(implied: nil, pairs: json)
            return
        }
        var implied: String?
        var pairs: [(key: String, value: String)] = []
        for (index, element) in Self.split(text).enumerated() {
            if let equals = element.firstIndex(of: "=") {
                pairs.append((String(element[..<equals]), String(element[element.index(after: equals)...])))
            } else if index == 0 {
                implied = element
            } else if !element.isEmpty {
                pairs.append((element, "on"))
            }
        }
        self.init(implied: implied, pairs: pairs)
    }

    /// Splits on single commas; `,,` is a literal comma.
    static func split(_ text: String) -> [String] {
        var elements: [String] = []
        var current = ""
        var iterator = text.makeIterator()
        var pending = iterator.next()
        while let character = pending {
            pending = iterator.next()
            if character == "," {
                if pending == "," {
                    current.append(",")
                    pending = iterator.next()
                } else {
                    elements.append(current)
                    current = ""
                }
            } else {
                current.append(character)
            }
        }
        elements.append(current)
        return elements
    }

    /// A JSON object flattened to dotted keys; nil when the text is not a JSON object.
    static func flattenJSON(_ text: String) -> [(key: String, value: String)]? {
        guard let value = JSONValue.parse(text),
            case .object = value
        else { return nil }
        var pairs: [(key: String, value: String)] = []
        func walk(_ value: JSONValue, prefix: String) {
            switch value {
            case .object(let members):
                for key in members.keys.sorted() {
                    walk(members[key] ?? .null, prefix: prefix.isEmpty ? key : prefix + "." + key)
                }
            case .array(let items):
                for (index, item) in items.enumerated() { walk(item, prefix: "\(prefix).\(index)") }
            case .string(let text): pairs.append((prefix, text))
            case .bool(let flag): pairs.append((prefix, flag ? "on" : "off"))
            case .number(let number):
                let integral = number == number.rounded() && abs(number) < 1e15
                pairs.append((prefix, integral ? "\(Int(number))" : "\(number)"))
            case .null: break
            }
        }
        walk(value, prefix: "")
        return pairs
    }
}

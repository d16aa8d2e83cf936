import HealthCore
import Yams

/// A value read from YAML together with where it was written.
struct Located<Value> {
    var value: Value
    var location: SourceLocation
    /// The error key of the setting where it was written (`checks[2].timeout`, `overrides[0].timeout`).
    var key: String = ""
}

/// Reads typed values out of Yams nodes of one file and collects every problem with its location and key.
struct NodeReader {
    /// Problems kept per file: past this the file is broken enough, and memory stays bounded.
    static let errorLimit = 200

    let file: String
    private(set) var errors: [CatalogueError] = []

    init(file: String) { self.file = file }

    func location(_ node: Node?) -> SourceLocation {
        guard let mark = node?.mark else { return SourceLocation(file: file, line: 1, column: 1) }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    mutating func fail(_ node: Node?, _ key: String, _ message: String, code: CatalogueError.Code = .value) {
        fail(at: location(node), key, message, code: code)
    }

    mutating func fail(
        at location: SourceLocation, _ key: String, _ message: String, code: CatalogueError.Code = .value
    ) {
        if errors.count < Self.errorLimit {
            errors.append(CatalogueError(location, key: key, message: message, code: code))
        } else if errors.count == Self.errorLimit {
            errors.append(CatalogueError(location, key: key, message: "too many errors; the rest are not reported",
                                         code: .limit))
        }
    }

    mutating func absorb(_ error: CatalogueError) {
        if errors.count < Self.errorLimit { errors.append(error) }
    }

    // MARK: Shapes

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull(node) { return "null" }
            let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "..." : scalar.string
            if scalar.style == .plain || scalar.style == .any {
                if Int(scalar.string) != nil { return "an integer \(text)" }
                if Double(scalar.string) != nil { return "a number \(text)" }
                if ["true", "false"].contains(scalar.string.lowercased()) { return "a boolean \(text)" }
            }
            return "a string '\(text)'"
        }
    }

    /// The string-keyed entries of a mapping; a non-scalar key is an error and skipped.
    mutating func mapping(_ node: Node, _ key: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            fail(node, key, "expected a mapping, got \(Self.describe(node))", code: .type)
            return nil
        }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                fail(keyNode, key, "mapping keys must be strings, got \(Self.describe(keyNode))", code: .type)
                continue
            }
            entries.append((scalar.string, keyNode, value))
        }
        return entries
    }

    mutating func sequence(_ node: Node, _ key: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            fail(node, key, "expected a list, got \(Self.describe(node))", code: .type)
            return nil
        }
        return Array(sequence)
    }

    // MARK: Scalars

    /// Any non-null scalar, as written.
    mutating func string(_ node: Node, _ key: String) -> String? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            fail(node, key, "expected a string, got \(Self.describe(node))", code: .type)
            return nil
        }
        return scalar.string
    }

    private func plain(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return nil }
        return scalar.string
    }

    mutating func integer(_ node: Node, _ key: String) -> Int? {
        guard let text = plain(node), let value = Int(text.replacingUnderscores()) else {
            fail(node, key, "expected an integer, got \(Self.describe(node))", code: .type)
            return nil
        }
        return value
    }

    mutating func number(_ node: Node, _ key: String) -> Double? {
        guard let text = plain(node), let value = Double(text.replacingUnderscores()), value.isFinite else {
            fail(node, key, "expected a number, got \(Self.describe(node))", code: .type)
            return nil
        }
        return value
    }

    mutating func boolean(_ node: Node, _ key: String) -> Bool? {
        switch plain(node)?.lowercased() {
        case "true": return true
        case "false": return false
        default:
            fail(node, key, "expected true or false, got \(Self.describe(node))", code: .type)
            return nil
        }
    }

    /// `500ms`, `30s`, `1m30s`, or a plain number of seconds.
    mutating func duration(_ node: Node, _ key: String) -> Duration? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            fail(node, key, "expected a duration such as 30s, got \(Self.describe(node))", code: .type)
            return nil
        }
        do {
            return try HealthDuration.parse(scalar.string)
        } catch {
            fail(node, key, error.description)
            return nil
        }
    }

    /// A list of strings; with `allowSingle`, one string stands for a list of one.
    mutating func stringList(_ node: Node, _ key: String, allowSingle: Bool) -> [String]? {
        if allowSingle, case .scalar = node, !Self.isNull(node) { return string(node, key).map { [$0] } }
        guard case .sequence(let sequence) = node else {
            let expected = allowSingle ? "a string or a list of strings" : "a list of strings"
            fail(node, key, "expected \(expected), got \(Self.describe(node))", code: .type)
            return nil
        }
        var values: [String] = []
        var good = true
        for (index, element) in sequence.enumerated() {
            if let value = string(element, "\(key)[\(index)]") { values.append(value) } else { good = false }
        }
        return good ? values : nil
    }

    mutating func stringMap(_ node: Node, _ key: String) -> [String: String]? {
        guard let entries = mapping(node, key) else { return nil }
        var values: [String: String] = [:]
        var good = true
        for entry in entries {
            if let value = string(entry.value, "\(key).\(entry.key)") {
                values[entry.key] = value
            } else {
                good = false
            }
        }
        return good ? values : nil
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        contains("_") ? String(filter { $0 != "_" }) : self
    }
}

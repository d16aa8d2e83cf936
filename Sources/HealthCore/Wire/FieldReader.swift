/// A field of a record has the wrong type; the record is skipped with this as the reason.
struct FieldError: Error {
    var path: String
    var message: String

    var reason: String { "\(path): \(message)" }
}

/// Typed, path-aware reads of optional fields: a missing or null field is nil, a wrong type is a ``FieldError``.
struct FieldReader {
    var value: JSONValue?
    var path: String

    init(_ value: JSONValue?, path: String) {
        self.value = value
        self.path = path
    }

    func field(_ key: String) -> FieldReader {
        FieldReader(value?[key], path: path.isEmpty ? key : path + "." + key)
    }

    var isPresent: Bool { value != nil }

    func string() throws -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value else { throw mismatch("a string", value) }
        return text
    }

    /// A string that is absent when empty (Go writes unset strings as "").
    func nonEmptyString() throws -> String? {
        guard let text = try string(), !text.isEmpty else { return nil }
        return text
    }

    func bool() throws -> Bool? {
        guard let value else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .string("true"): return true
        case .string("false"): return false
        default: throw mismatch("a boolean", value)
        }
    }

    func number() throws -> Double? {
        guard let value else { return nil }
        guard case .number(let number) = value else { throw mismatch("a number", value) }
        return number
    }

    func array() throws -> [JSONValue]? {
        guard let value else { return nil }
        guard case .array(let items) = value else { throw mismatch("an array", value) }
        return items
    }

    func object() throws -> [String: JSONValue]? {
        guard let value else { return nil }
        guard case .object(let members) = value else { throw mismatch("an object", value) }
        return members
    }

    /// A map of strings; non-string values are rejected rather than silently stringified.
    func stringMap() throws -> [String: String]? {
        guard let members = try object() else { return nil }
        var result: [String: String] = [:]
        for (key, member) in members {
            switch member {
            case .string(let text): result[key] = text
            case .null: continue
            default: throw FieldError(path: path + "." + key, message: "expected a string, found \(member.typeName)")
            }
        }
        return result
    }

    private func mismatch(_ expected: String, _ value: JSONValue) -> FieldError {
        FieldError(path: path, message: "expected \(expected), found \(value.typeName)")
    }
}

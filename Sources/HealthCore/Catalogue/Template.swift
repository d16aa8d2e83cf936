/// A string with `{{field}}` placeholders, filled from a target's ``TargetFields``.
public struct Template: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Why a template could not be parsed or filled.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    private enum Piece: Sendable, Hashable, Codable {
        case literal(String)
        case field(String)
    }

    public let source: String
    private let pieces: [Piece]

    /// Parses `source`; an unclosed `{{` is an error.
    public init(_ source: String) throws(Error) {
        self.source = source
        var pieces: [Piece] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.literal(String(rest[..<open.lowerBound]))) }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else {
                throw Error(message: "unclosed '{{' in '\(source)'")
            }
            let name = afterOpen[..<close.lowerBound].trimmingWhitespace()
            guard !name.isEmpty else { throw Error(message: "empty '{{}}' in '\(source)'") }
            pieces.append(.field(name))
            rest = afterOpen[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.literal(String(rest))) }
        self.pieces = pieces
    }

    /// The field names the template references.
    public var fieldNames: [String] {
        pieces.compactMap { if case .field(let name) = $0 { name } else { nil } }
    }

    /// True when the template has no placeholders.
    public var isLiteral: Bool { fieldNames.isEmpty }

    /// Fills the placeholders; a field the target does not have is an error naming it.
    public func render(_ fields: TargetFields) throws(Error) -> String {
        var output = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): output += text
            case .field(let name):
                guard let value = fields[name] else {
                    throw Error(message: "'{{\(name)}}' has no value for \(fields.target.kind.rawValue) \(fields.target.id)")
                }
                output += value
            }
        }
        return output
    }

    public var description: String { source }
}

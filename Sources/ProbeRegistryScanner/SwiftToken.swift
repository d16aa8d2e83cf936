/// One token of Swift source, as far as the registry scanner needs to tell them apart.
public struct SwiftToken: Sendable, Hashable {
    /// What the token is.
    public enum Kind: Sendable, Hashable {
        /// An identifier or keyword (backticks removed).
        case identifier
        /// A string literal; ``SwiftToken/text`` is its contents when it is a plain one.
        case string(interpolated: Bool)
        /// A number literal.
        case number
        /// One punctuation or operator character: `{`, `}`, `(`, `)`, `<`, `>`, `:`, `,`, `.`, `@`, `#`, ...
        case punctuation
    }

    public var kind: Kind
    public var text: String
    /// The 1-based line the token starts on.
    public var line: Int

    public init(_ kind: Kind, _ text: String, line: Int) {
        self.kind = kind
        self.text = text
        self.line = line
    }

    func isPunctuation(_ character: String) -> Bool { kind == .punctuation && text == character }
    func isIdentifier(_ name: String) -> Bool { kind == .identifier && text == name }
}

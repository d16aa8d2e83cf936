/// The keyword a declaration the scanner tracks starts with.
enum DeclarationKeyword: String, CaseIterable {
    case `struct`, `class`, `enum`, actor, `protocol`, `extension`

    /// A type whose `.self` the registry can list.
    var declaresType: Bool { self != .protocol && self != .extension }
}

/// A type, protocol or extension declaration of one file, with what the scanner needs to judge it.
struct Declaration {
    var keyword: DeclarationKeyword
    /// The declared (or extended) type's name, qualified with the types it is nested in: `Outer.Inner`.
    var qualifiedName: String
    /// Declared with generic parameters (`struct P<T>`).
    var isGeneric: Bool
    /// Declared inside a function, closure or accessor.
    var isLocal: Bool
    /// `private`/`fileprivate`, or nested in a type that is.
    var isHidden: Bool
    /// The inheritance list as written, one entry per type, attributes (`@retroactive`) removed.
    var inheritance: [String]
    var file: String
    var line: Int
    /// The file's tokens; ``ownBodyIndices`` index into them.
    var tokens: [SwiftToken]
    /// Tokens between the braces of the body, without the bodies of types declared inside it.
    var ownBodyIndices: [Int]

    /// The declaration a name written inside this one refers to: the innermost enclosing scope that declares it.
    func resolve(_ name: String, among types: [String: Declaration]) -> String {
        var scope = qualifiedName.split(separator: ".").dropLast().map(String.init)
        while !scope.isEmpty {
            let candidate = (scope + [name]).joined(separator: ".")
            if types[candidate] != nil { return candidate }
            scope.removeLast()
        }
        return name
    }
}

/// Walks one file's tokens and records every type, protocol and extension declaration, nested ones included.
struct DeclarationCollector {
    let path: String
    let tokens: [SwiftToken]
    /// For each `{`, the index of its `}` (the end of the file when it is never closed).
    private let closing: [Int: Int]
    private(set) var declarations: [Declaration] = []
    /// Body token ranges, parallel to ``declarations``.
    private var bodies: [Range<Int>] = []

    /// Words that follow `class` when it is a modifier (`class func`), not a declaration.
    private static let notTypeNames: Set<String> = [
        "func", "var", "let", "subscript", "init", "deinit", "override", "final", "static", "typealias", "public",
        "private", "fileprivate", "internal", "open", "required", "convenience", "nonisolated", "dynamic", "lazy",
        "weak", "unowned", "mutating", "where",
    ]
    /// Modifiers that may stand before a declaration's keyword.
    private static let modifiers: Set<String> = [
        "public", "private", "fileprivate", "internal", "package", "open", "final", "indirect", "nonisolated",
    ]

    init(path: String, tokens: [SwiftToken]) {
        self.path = path
        self.tokens = tokens
        var closing: [Int: Int] = [:]
        var open: [Int] = []
        for (index, token) in tokens.enumerated() where token.kind == .punctuation {
            if token.text == "{" {
                open.append(index)
            } else if token.text == "}", let start = open.popLast() {
                closing[start] = index
            }
        }
        for start in open { closing[start] = tokens.count }
        self.closing = closing
    }

    /// Collects the declarations of the whole file.
    mutating func collectFile() {
        collect(0..<tokens.count, enclosing: [], local: false, hidden: false)
        for index in declarations.indices {
            let body = bodies[index]
            let nested = bodies.enumerated().filter { $0.offset != index && body.contains($0.element.lowerBound) }
            declarations[index].ownBodyIndices = body.filter { position in
                !nested.contains { $0.element.contains(position) }
            }
        }
    }

    private mutating func collect(_ range: Range<Int>, enclosing: [String], local: Bool, hidden: Bool) {
        var index = range.lowerBound
        while index < range.upperBound {
            let token = tokens[index]
            if token.isPunctuation("{") {
                let end = closing[index] ?? tokens.count
                collect((index + 1)..<min(end, range.upperBound), enclosing: enclosing, local: true, hidden: hidden)
                index = end + 1
                continue
            }
            if token.kind == .identifier, let keyword = DeclarationKeyword(rawValue: token.text),
                let end = declaration(at: index, keyword: keyword, enclosing: enclosing, local: local, hidden: hidden)
            {
                index = end + 1
                continue
            }
            index += 1
        }
    }

    /// Records the declaration starting with `keyword` at `start` and collects inside its body; returns the index of
    /// its closing brace, or nil when the keyword does not start a declaration here.
    private mutating func declaration(
        at start: Int, keyword: DeclarationKeyword, enclosing: [String], local: Bool, hidden: Bool
    ) -> Int? {
        var index = start + 1
        guard index < tokens.count, tokens[index].kind == .identifier,
            keyword != .class || !Self.notTypeNames.contains(tokens[index].text)
        else { return nil }
        var nameParts = [tokens[index].text]
        index += 1
        if keyword == .extension {
            while index + 1 < tokens.count, tokens[index].isPunctuation("."), tokens[index + 1].kind == .identifier {
                nameParts.append(tokens[index + 1].text)
                index += 2
            }
        }
        var isGeneric = false
        if index < tokens.count, tokens[index].isPunctuation("<") {
            isGeneric = keyword != .extension
            index = skipAngles(from: index)
        }
        var inheritance: [String] = []
        if index < tokens.count, tokens[index].isPunctuation(":") {
            (inheritance, index) = inheritanceList(from: index + 1)
        }
        if index < tokens.count, tokens[index].isIdentifier("where") {
            while index < tokens.count, !tokens[index].isPunctuation("{") {
                if tokens[index].isPunctuation("}") || tokens[index].isPunctuation(";") { return nil }
                index += 1
            }
        }
        guard index < tokens.count, tokens[index].isPunctuation("{") else { return nil }
        let open = index
        let close = closing[open] ?? tokens.count
        let isHidden = hidden || modifiers(before: start).contains { $0 == "private" || $0 == "fileprivate" }
        let qualified = keyword == .extension ? nameParts : enclosing + nameParts
        declarations.append(
            Declaration(
                keyword: keyword, qualifiedName: qualified.joined(separator: "."), isGeneric: isGeneric,
                isLocal: local, isHidden: isHidden, inheritance: inheritance, file: path, line: tokens[start].line,
                tokens: tokens, ownBodyIndices: []))
        bodies.append((open + 1)..<close)
        collect((open + 1)..<close, enclosing: qualified, local: local, hidden: isHidden)
        return close
    }

    /// The modifier words directly before `index`.
    private func modifiers(before index: Int) -> [String] {
        var words: [String] = []
        var position = index - 1
        while position >= 0, tokens[position].kind == .identifier, Self.modifiers.contains(tokens[position].text) {
            words.append(tokens[position].text)
            position -= 1
        }
        return words
    }

    /// The index after the `>` closing the `<` at `start`.
    private func skipAngles(from start: Int) -> Int {
        var depth = 0
        var index = start
        while index < tokens.count {
            if tokens[index].isPunctuation("<") { depth += 1 }
            if tokens[index].isPunctuation(">") { depth -= 1 }
            if tokens[index].isPunctuation("{") { return index }
            index += 1
            if depth == 0 { return index }
        }
        return index
    }

    /// The entries of an inheritance list starting at `start`, and the index of the `where` or `{` ending it.
    private func inheritanceList(from start: Int) -> ([String], Int) {
        var entries: [String] = []
        var current = ""
        var depth = 0
        var index = start
        while index < tokens.count {
            let token = tokens[index]
            if depth == 0, token.isPunctuation("{") || token.isIdentifier("where") { break }
            if token.isPunctuation("<") { depth += 1 }
            if token.isPunctuation(">") { depth -= 1 }
            if depth == 0, token.isPunctuation(",") {
                entries.append(current)
                current = ""
            } else if token.isPunctuation("@"), index + 1 < tokens.count, tokens[index + 1].kind == .identifier {
                index += 1  // an attribute such as `@retroactive` or `@unchecked`
            } else {
                current += token.text
            }
            index += 1
        }
        if !current.isEmpty { entries.append(current) }
        return (entries, index)
    }
}

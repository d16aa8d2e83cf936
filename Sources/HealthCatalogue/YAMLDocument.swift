import HealthCore
import Yams

/// Parses checked ``SourceText`` as one YAML document, within bounded time, memory and stack.
enum YAMLDocument {
    /// Nodes one file may expand to (aliases counted each time they are used): stops alias bombs.
    static let nodeBudget = 100_000

    /// The root node, or nil for an empty document.
    static func parse(_ source: SourceText) throws(CatalogueError) -> Node? {
        do {
            try YAMLPreScan.check(source.bytes)
        } catch {
            throw CatalogueError(file: source.file, line: error.line, column: error.column, key: "",
                                 message: error.message, code: .limit)
        }
        let root: Node?
        do {
            root = try Parser(yaml: source.text, encoding: .utf8).singleRoot()
        } catch let error as YamlError {
            throw convert(error, source: source)
        } catch {
            throw CatalogueError(file: source.file, line: 1, column: 1, key: "", message: "\(error)", code: .syntax)
        }
        if let root { try checkBudget(root, file: source.file) }
        return root
    }

    /// Walks the tree as a consumer would see it (aliases expanded), giving up past ``nodeBudget`` nodes.
    static func checkBudget(_ root: Node, file: String) throws(CatalogueError) {
        var stack: [Node] = [root]
        var visited = 0
        while let node = stack.popLast() {
            visited += 1
            if visited > nodeBudget {
                let mark = node.mark ?? root.mark
                throw CatalogueError(
                    file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, key: "",
                    message: "the document expands to more than \(nodeBudget) nodes (a YAML alias bomb?)",
                    code: .limit)
            }
            switch node {
            case .scalar, .alias: break
            case .sequence(let sequence): stack.append(contentsOf: sequence)
            case .mapping(let mapping):
                for (key, value) in mapping {
                    stack.append(key)
                    stack.append(value)
                }
            }
        }
    }

    static func convert(_ error: YamlError, source: SourceText) -> CatalogueError {
        func located(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> CatalogueError {
            var message = problem
            if let context { message += " (\(context.text) at \(context.mark.line):\(context.mark.column))" }
            return CatalogueError(file: source.file, line: mark.line, column: mark.column, key: "",
                                  message: "YAML syntax error: " + message, code: .syntax)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return located(mark, problem, context)
        case .reader(let problem, let offset, let value, _):
            let (line, column) = SourceText.lineAndColumn(source.text, characterOffset: offset ?? 0)
            let detail = value >= 0 ? " (U+\(String(value, radix: 16, uppercase: true)))" : ""
            return CatalogueError(file: source.file, line: line, column: column, key: "",
                                  message: "YAML reader error: \(problem)\(detail)", code: .syntax)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return CatalogueError(
                file: source.file, line: context.mark.line, column: context.mark.column, key: "",
                message: "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping",
                code: .syntax)
        default:
            return CatalogueError(file: source.file, line: 1, column: 1, key: "", message: "\(error)", code: .syntax)
        }
    }
}

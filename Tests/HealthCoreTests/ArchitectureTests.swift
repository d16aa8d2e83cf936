import Foundation
import Testing

/// docs/architecture.md's "Who may import whom" table is the rule; every `import` of a package module in Sources
/// must follow it, and every module must have a row.
@Suite("Module boundaries")
struct ArchitectureTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// module -> package modules it may import, from the table under `## Who may import whom`.
    static func rules() throws -> [String: Set<String>] {
        let path = root.appendingPathComponent("docs/architecture.md").path
        let text = try #require(FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) })
        let start = try #require(text.range(of: "## Who may import whom"), "docs/architecture.md has no rule table")
        var rules: [String: Set<String>] = [:]
        for line in text[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 4, cells[1].hasPrefix("`") else { continue }
            let module = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let allowed = cells[2].split(separator: ",").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "` "))
            }.filter { !$0.isEmpty && $0 != "nothing" }
            rules[module] = Set(allowed)
        }
        return rules
    }

    /// The package's modules: the folders of Sources.
    static func modules() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Sources").path)
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The package modules each Swift file of `module` imports, with the file for messages.
    static func imports(of module: String, among modules: Set<String>) -> [(file: String, module: String)] {
        let folder = root.appendingPathComponent("Sources/\(module)")
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        var found: [(String, String)] = []
        while let relative = walker.nextObject() as? String {
            guard relative.hasSuffix(".swift"),
                  let data = FileManager.default.contents(atPath: folder.appendingPathComponent(relative).path),
                  let text = String(data: data, encoding: .utf8) else { continue }
            var inMultiLineString = false
            for line in text.split(separator: "\n") {
                // Code the file writes (a generator's output) is inside """ literals: not this file's imports.
                if line.components(separatedBy: "\"\"\"").count % 2 == 0 { inMultiLineString.toggle() }
                if inMultiLineString { continue }
                let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                guard words.count >= 2, words[0] == "import" else { continue }
                let name = String(words[words.count - 1].split(separator: ".")[0])
                if modules.contains(name) { found.append(("Sources/\(module)/\(relative)", name)) }
            }
        }
        return found
    }

    @Test("every module of Sources has a row in the rule table, and every row is a module")
    func everyModuleHasARule() throws {
        let rules = try Self.rules()
        let modules = try Self.modules()
        #expect(modules.count >= 20)
        for module in modules { #expect(rules[module] != nil, "docs/architecture.md has no row for \(module)") }
        for module in rules.keys { #expect(modules.contains(module), "the rule table names \(module), not in Sources") }
    }

    @Test("no file imports a package module its module may not import")
    func importsFollowTheRules() throws {
        let rules = try Self.rules()
        let modules = try Self.modules()
        var checked = 0
        for module in modules {
            let allowed = rules[module] ?? []
            for (file, imported) in Self.imports(of: module, among: Set(modules)) where imported != module {
                checked += 1
                let rule = allowed.sorted().joined(separator: ", ")
                #expect(allowed.contains(imported), "\(file) imports \(imported); \(module) may import only \(rule)")
            }
        }
        #expect(checked > 50)
    }

    @Test("the table has no cycle: a module never reaches itself through what it may import")
    func noCycles() throws {
        let rules = try Self.rules()
        for start in rules.keys {
            var seen: Set<String> = []
            var stack = Array(rules[start] ?? [])
            var steps = 0
            while let next = stack.popLast(), steps < 10_000 {
                steps += 1
                #expect(next != start, "\(start) can reach itself through the rule table")
                if next == start || !seen.insert(next).inserted { continue }
                stack.append(contentsOf: rules[next] ?? [])
            }
        }
    }

    /// Every Swift file of Sources, relative to the root, with its text.
    static func sourceFiles() throws -> [(path: String, text: String)] {
        let sources = root.appendingPathComponent("Sources")
        let walker = try #require(FileManager.default.enumerator(atPath: sources.path))
        var files: [(String, String)] = []
        for case let relative as String in walker where relative.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(relative), encoding: .utf8)
            files.append(("Sources/" + relative, text))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    @Test("one file opens unix sockets (HealthIO's StreamSocket) and none parses JSON with JSONSerialization")
    func oneSocketLayerOneJSON() throws {
        let files = try Self.sourceFiles()
        #expect(files.count > 100, "Sources read: \(files.count) files")
        let openers = files.filter { file in
            ["sockaddr_un", "AF_UNIX", "PF_UNIX", "unixDomainSocketPath"].contains { file.text.contains($0) }
        }.map(\.path)
        #expect(openers == ["Sources/HealthIO/StreamSocket.swift"], "unix sockets are opened in \(openers)")
        let untyped = files.filter { $0.text.contains("JSONSerialization") }.map(\.path)
        #expect(untyped.isEmpty, "JSONSerialization in \(untyped): use HealthCore's JSONValue or a Decodable")
    }
}

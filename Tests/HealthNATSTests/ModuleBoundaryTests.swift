import Foundation
import Testing

/// The boxes of issue 16 as the sources import them: a move back across a boundary fails here, naming the file.
@Suite("module boundaries around the NATS client")
struct ModuleBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Sources")

    /// The modules each Swift file below `module` imports, by file.
    static func imports(of module: String) throws -> [String: Set<String>] {
        let root = sources.appending(path: module)
        let files = try #require(FileManager.default.enumerator(atPath: root.path)).compactMap { $0 as? String }
        var found: [String: Set<String>] = [:]
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: root.appending(path: file), encoding: .utf8)
            found[module + "/" + file] = Set(
                text.split(separator: "\n").compactMap { line -> String? in
                    let words = line.split(separator: " ")
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count else { return nil }
                    return words[..<index].allSatisfy { $0.hasPrefix("@") } ? String(words[index + 1]) : nil
                })
        }
        #expect(!found.isEmpty, "no Swift files under \(root.path)")
        return found
    }

    @Test("HealthNATS is the client only: CNATS, HealthCore, Logging and the standard library's modules")
    func natsIsTheClientOnly() throws {
        let allowed: Set = ["CNATS", "HealthCore", "Logging", "Foundation", "Dispatch", "Synchronization"]
        let imports = try Self.imports(of: "HealthNATS")
        for (file, modules) in imports {
            #expect(modules.isSubset(of: allowed), "\(file) imports \(modules.subtracting(allowed).sorted())")
        }
        // The reading itself works: the client is built on libnats.
        #expect(imports.values.contains { $0.contains("CNATS") })
    }

    @Test("the inventory knows no NATS; recovery does not reach into the engine", arguments: [
        ("HealthInventory", "HealthNATS"), ("HealthRecovery", "HealthEngine"), ("HealthStore", "HealthEngine"),
    ])
    func noImport(module: String, forbidden: String) throws {
        for (file, modules) in try Self.imports(of: module) {
            #expect(!modules.contains(forbidden), "\(file) imports \(forbidden)")
        }
    }
}

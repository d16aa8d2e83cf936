import Foundation
import HealthCatalogue
import HealthCore
import Testing

/// Untrusted files must fail fast with a located error, never crash, hang or exhaust memory.
@Suite("hostile input")
struct HostileInputTests {
    /// Generous for a 2-core CI machine; each case takes milliseconds when bounded.
    static let deadline: Duration = .seconds(20)

    private func timed<T>(_ body: () throws -> T) rethrows -> (T, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let value = try body()
        return (value, clock.now - start)
    }

    @Test("a 10 MB file is refused before it is read or parsed")
    func tenMegabytes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var bytes = Array("checks:\n".utf8)
        let line = Array("  - {name: x, probe: test.node}\n".utf8)
        while bytes.count < 10_000_000 { bytes += line }
        bytes.removeLast(bytes.count - 10_000_000)
        try directory.write("big.yaml", bytes: bytes)
        let loader = CatalogueLoader(registry: try testRegistry(), config: .defaults)
        let (result, elapsed) = timed { loader.load(directory: directory.path, environment: nil) }
        let error = try #require(result.errors.first)
        #expect(result.errors.count == 1)
        #expect(error.code == .tooLarge)
        #expect(error.message == "file is 10.0 MB, the limit is 1 MiB")
        #expect(error.file == "\(directory.path)/big.yaml")
        #expect(elapsed < Self.deadline)

        let (memory, _) = timed { loader.load(files: [(name: "big.yaml", contents: bytes)], environmentFiles: [],
                                              environment: nil) }
        #expect(memory.errors.first?.message == "file is 10.0 MB, the limit is 1 MiB")
    }

    @Test("non-UTF-8 bytes are reported at the line and column of the first bad byte")
    func notUTF8() throws {
        var bytes = Array("checks:\n  - name: caf".utf8)
        bytes += [0xC3, 0x28]  // a lead byte followed by a non-continuation byte
        bytes += Array("\n    probe: test.node\n".utf8)
        let loader = CatalogueLoader(registry: try testRegistry(), config: .defaults)
        let result = loader.load(files: [(name: "latin.yaml", contents: bytes)], environmentFiles: [], environment: nil)
        let error = try #require(result.errors.first)
        #expect(error.code == .encoding)
        #expect(error.line == 2)
        #expect(error.column == 14)
        #expect(error.description.hasPrefix("latin.yaml:2:14: invalid UTF-8 byte 0xC3"))

        let truncated = loader.load(files: [(name: "t.yaml", contents: Array("checks: []\n#é".utf8).dropLast())],
                                    environmentFiles: [], environment: nil)
        #expect(truncated.errors.first?.code == .encoding)
        #expect(truncated.errors.first?.line == 2)
    }

    @Test("a billion-laughs alias bomb fails with a clear error in bounded time")
    func billionLaughs() throws {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...12 {
            let refs = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(refs)]\n"
        }
        text += "checks:\n  - name: bomb\n    probe: test.instance\n    params: {command: *a12, pid_file: x}\n"
        let (result, elapsed) = try timed { try loadInMemory(["bomb.yaml": text]) }
        let error = try #require(result.errors.first)
        #expect(error.code == .limit)
        #expect(error.message.contains("more than 100000 nodes"))
        #expect(error.file == "bomb.yaml")
        #expect(result.catalogue.checks.isEmpty)
        #expect(elapsed < Self.deadline)
    }

    @Test("long alias chains are walked without recursion, and too many aliases are refused")
    func aliasChains() throws {
        func chain(_ length: Int) -> String {
            var text = "a0: &a0 [x]\n"
            for level in 1..<length { text += "a\(level): &a\(level) [*a\(level - 1)]\n" }
            return text + "checks:\n  - {name: deep, probe: test.instance, "
                + "params: {pid_file: x, command: *a\(length - 1)}}\n"
        }
        // 300 links expand to about 45,000 nodes: within budget, so the unknown keys are reported (up to the cap).
        let (short, shortElapsed) = try timed { try loadInMemory(["chain.yaml": chain(300)]) }
        #expect(short.errors.first?.key == "a0")
        #expect(short.errors.count == 201)
        #expect(short.catalogue.checks.isEmpty)
        #expect(shortElapsed < Self.deadline)
        // 1,000 links expand to about 500,000 nodes: the budget stops the walk.
        let (long, longElapsed) = try timed { try loadInMemory(["chain.yaml": chain(1_000)]) }
        #expect(long.errors.count == 1)
        #expect(long.errors.first?.message.contains("more than 100000 nodes") == true)
        #expect(longElapsed < Self.deadline)

        let many = "a: &a x\nb: [" + Array(repeating: "*a", count: 1_001).joined(separator: ", ") + "]\n"
        let refused = try loadInMemory(["many.yaml": many])
        #expect(refused.errors.first?.message == "more than 1000 YAML aliases")
        #expect(refused.errors.first?.line == 2)
    }

    @Test("hostile hive.toml: deep arrays and garbage fail with a located error")
    func hostileTOML() throws {
        let deep = "[health]\nx = " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let (_, deepErrors) = HealthConfig.check(deep, file: "hive.toml")
        #expect(!deepErrors.isEmpty)
        #expect(deepErrors.allSatisfy { $0.line >= 1 })
        let (_, garbage) = HealthConfig.check("\u{0}\u{1}[[[health", file: "hive.toml")
        #expect(garbage.first?.code == .encoding)
        #expect(garbage.first?.line == 1)
        let (_, syntax) = HealthConfig.check("[[[health\n", file: "hive.toml")
        #expect(syntax.first?.code == .syntax)
        let big = "# " + String(repeating: "x", count: 1_100_000)
        let (_, bigErrors) = HealthConfig.check(big, file: "hive.toml")
        #expect(bigErrors.first?.code == .tooLarge)
    }

    @Test("random TOML-like garbage never aborts the process")
    func tomlFuzz() throws {
        let pieces = [
            "[", "]", "[[", "]]", "{", "}", "\"", "'", "=", ".", "a", "1", " ", "\n", "#", ",", "\\", "\"\"\"", "'''",
            "health", "-", "\t", "true", "1979-05-27", "+", "_", "x = ", "[health]\n", "\r\n",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var rejected = 0
        for _ in 0..<3_000 {
            var text = ""
            for _ in 0..<(1 + next(24)) { text += pieces[next(pieces.count)] }
            let (_, errors) = HealthConfig.check(text, file: "fuzz.toml")
            if !errors.isEmpty { rejected += 1 }
            #expect(errors.allSatisfy { $0.line >= 1 && $0.file == "fuzz.toml" }, "\(text.debugDescription)")
        }
        #expect(rejected > 0)
    }

    @Test("random YAML-like garbage gives located errors, never a crash")
    func yamlFuzz() throws {
        let pieces = [
            "[", "]", "{", "}", ": ", ":", "- ", "? ", "&a ", "*a", "&b ", "*b", "!!str ", "|", ">-", "\"", "'", "#",
            "\n", "  ", "checks", "name", "probe", "test.node", ",", "---\n", "...\n", "%YAML 1.1\n", "\t", "\\",
            "checks:\n  - ", "{{", "}}", "~", "<<: ", "\r\n", "é",
        ]
        var state: UInt64 = 0xD1B5_4A32_D192_ED03
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let loader = CatalogueLoader(registry: try testRegistry(), config: .defaults)
        for _ in 0..<3_000 {
            var text = ""
            for _ in 0..<(1 + next(30)) { text += pieces[next(pieces.count)] }
            let result = loader.load(files: [(name: "fuzz.yaml", contents: Array(text.utf8))], environmentFiles: [],
                                     environment: nil)
            #expect(result.errors.allSatisfy { $0.file == "fuzz.yaml" }, "\(text.debugDescription)")
        }
    }

    @Test("aliases and collections used as mapping keys are refused before parsing")
    func aliasKeys() throws {
        let cases = [
            "a: &a [x, y]\n*a : 1\n": "an alias used as a mapping key",
            "a: &a [x]\nb: {*a : 1}\n": "an alias used as a mapping key",
            "? [a, b]\n: 1\n": "explicit mapping keys",
            "[a, b]: 1\n": "a collection used as a mapping key",
            "x: {[a]: 1}\n": "a collection used as a mapping key",
        ]
        for (text, fragment) in cases {
            let result = try loadInMemory(["k.yaml": text])
            let error = try #require(result.errors.first, "\(text)")
            #expect(error.code == .limit, "\(text)")
            #expect(error.message.contains(fragment), "\(text): \(error)")
        }
    }

    @Test("thousands of levels of nesting are refused with a location, in every YAML style")
    func deepNesting() throws {
        let depth = 10_000
        let flowSequences = "checks: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let flowMappings =
            "checks: " + String(repeating: "{a: ", count: depth) + "1" + String(repeating: "}", count: depth)
        // Indentation grows with depth, so 1,000 levels is what fits under the 1 MiB limit.
        var blockMappings = ""
        for level in 0..<1_000 { blockMappings += String(repeating: " ", count: level) + "k:\n" }
        var blockSequences = "checks:\n"
        blockSequences += String(repeating: "- ", count: depth) + "x\n"
        for (name, text) in [
            ("flow-seq", flowSequences), ("flow-map", flowMappings), ("block-map", blockMappings),
            ("block-seq", blockSequences),
        ] {
            let (result, elapsed) = try timed { try loadInMemory(["\(name).yaml": text]) }
            let error = try #require(result.errors.first, "\(name)")
            #expect(error.code == .limit, "\(name)")
            #expect(error.message == "nesting is deeper than 64 levels", "\(name)")
            #expect(error.line >= 1 && error.column >= 1, "\(name)")
            #expect(elapsed < Self.deadline, "\(name)")
        }
        let flow = try loadInMemory(["f.yaml": flowSequences])
        #expect(flow.errors.first?.line == 1)
        #expect(flow.errors.first?.column == 9 + 63)
    }

    @Test("nesting within the limit, block scalars and quoted brackets are not mistaken for depth")
    func legitimateTextPasses() throws {
        let text = """
            checks:
              - name: script
                probe: test.instance
                description: |
                  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
                  *star: not an alias
                params:
                  pid_file: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                  command: [sh, '-c', 'echo {[(]) # not a comment', "a: b"]
                  env: {PATTERN: "*.log", NOTE: it's fine}
            """
        let result = try loadInMemory(["ok.yaml": text])
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.catalogue.checks.first?.params["env"] == .stringMap(["PATTERN": "*.log", "NOTE": "it's fine"]))
        #expect(result.catalogue.checks.first?.description.hasPrefix("[[[[") == true)
    }

    @Test("wrong types everywhere are errors, not crashes")
    func wrongTypesEverywhere() throws {
        let documents = [
            "checks: 5\n", "checks: {a: 1}\n", "checks: [1, [2], {}]\n", "- checks\n", "42\n",
            "checks:\n  - name: [a]\n    probe: {x: 1}\n    interval: [1]\n    enabled: yes please\n",
            "checks:\n  - name: a\n    probe: test.node\n    thresholds: [1]\n    when: [x]\n    params: 3\n",
            "checks:\n  - name: a\n    probe: test.instance\n    params: {pid_file: [x], env: [y], command: {a: b}}\n",
            "checks:\n  - name: a\n    probe: test.node\n    when: {node.name: {not: {x: y}}}\n    timeout: -5s\n",
            "checks:\n  - {name: ~, probe: ~, description: {}}\n",
            "--- \nchecks: []\n---\nchecks: []\n",
            "checks: [\u{0001}]\n",
        ]
        for text in documents {
            let result = try loadInMemory(["t.yaml": text])
            #expect(!result.errors.isEmpty, "\(text)")
            #expect(result.catalogue.checks.isEmpty, "\(text)")
            #expect(result.errors.allSatisfy { $0.file == "t.yaml" && $0.line >= 1 }, "\(text): \(result.errors)")
        }
    }

    @Test("a FIFO named like a checks file is refused without blocking; a symlinked file loads")
    func specialFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let target = try directory.write("elsewhere/real.yaml", "checks:\n  - {name: linked, probe: test.node}\n")
        let checks = directory.path + "/checks.d"
        try FileManager.default.createDirectory(atPath: checks, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: checks + "/10-linked.yaml", withDestinationPath: target)
        #expect(mkfifo(checks + "/20-pipe.yaml", 0o600) == 0)
        let loader = CatalogueLoader(registry: try testRegistry(), config: .defaults)
        let (result, elapsed) = timed { loader.load(directory: checks, environment: nil) }
        #expect(result.catalogue.checks.map(\.name) == ["linked"])
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.file == checks + "/20-pipe.yaml")
        #expect(result.errors.first?.message == "not a regular file")
        #expect(elapsed < Self.deadline)
    }

    @Test("a huge number of bad entries keeps the error list bounded")
    func errorLimit() throws {
        let text = "checks:\n" + String(repeating: "  - 1\n", count: 5_000)
        let result = try loadInMemory(["many.yaml": text])
        #expect(result.errors.count == 201)
        #expect(result.errors.last?.message == "too many errors; the rest are not reported")
    }
}

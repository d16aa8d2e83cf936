import Foundation
import Testing

@Suite("hive-health validate")
struct ValidateCommandTests {
    @Test("the shipped checks.d is valid: exit 0")
    func shippedCatalogue() async throws {
        let result = try await HiveHealthBinary.run(["validate", HiveHealthBinary.packageRoot.appending(path: "checks.d").path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("valid:"))
    }

    @Test("a broken copy prints file:line:column with the reason and exits 1")
    func brokenCopy() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let source = HiveHealthBinary.packageRoot.appending(path: "checks.d")
        let copy = folder.url.appending(path: "checks.d")
        try FileManager.default.copyItem(at: source, to: copy)
        let file = copy.appending(path: "10-host.yaml")
        var text = try String(contentsOf: file, encoding: .utf8)
        text = text.replacingOccurrences(of: "    probe: host.thermal\n", with: "    probe: host.thermal\n    intervall: 5s\n")
        try Data(text.utf8).write(to: file)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(lines.firstIndex { $0.contains("intervall") }) + 1

        let result = try await HiveHealthBinary.run(["validate", copy.path])
        #expect(result.status == 1)
        #expect(result.stdout.contains("\(file.path):\(line):5"), "\(result.stdout)")
        #expect(result.stdout.contains("intervall"))

        let json = try await HiveHealthBinary.run(["validate", copy.path, "--format", "json"])
        #expect(json.status == 1)
        let object = try #require(try jsonObject(json.stdout) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        let errors = try #require(object["errors"] as? [[String: Any]])
        let first = try #require(errors.first)
        #expect(first["file"] as? String == file.path)
        #expect(first["line"] as? Int == line)
        #expect(first["column"] as? Int == 5)
        #expect((first["message"] as? String)?.isEmpty == false)
    }

    @Test("--environment prints every effective setting and where it came from")
    func effectiveValues() async throws {
        let result = try await HiveHealthBinary.run([
            "validate", HiveHealthBinary.packageRoot.appending(path: "checks.d").path, "--environment", "production",
        ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let line = try #require(
            result.stdout.split(separator: "\n").first {
                $0.contains("host.memory ") && $0.contains("thresholds.consecutive_failures")
            })
        #expect(line.contains("3"))
        #expect(line.contains("production.yaml"))
    }

    @Test("an unknown environment is an error naming the available ones")
    func unknownEnvironment() async throws {
        let result = try await HiveHealthBinary.run([
            "validate", HiveHealthBinary.packageRoot.appending(path: "checks.d").path, "--environment", "staging",
        ])
        #expect(result.status == 1)
        #expect(result.stdout.contains("production"))
    }
}

import Foundation
import HealthCatalogue
import Testing

/// Each hive.toml key is declared once (`HealthConfigKey.all`): the reader, the unknown-key check and the documented
/// tables all come from that list.
@Suite("hive.toml keys, declared once")
struct ConfigKeyTests {
    static let docsFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs")

    static let tables = ["health", "health.thresholds", "health.api", "health.inventory", "health.nats",
                         "health.recovery", "health.peers"]

    @Test("docs/configuration.md holds each table exactly as the declarations make it", arguments: tables)
    func documented(table: String) throws {
        let path = Self.docsFolder.appendingPathComponent("configuration.md").path
        let text = try #require(FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) })
        let expected = HealthConfigKey.markdownTable(for: table)
        #expect(!HealthConfigKey.keys(in: table).isEmpty)
        #expect(text.contains(expected), "docs/configuration.md's [\(table)] table differs from:\n\(expected)")
    }

    @Test("every key written at its documented default parses cleanly, counts as set, and changes nothing")
    func defaultsRoundTrip() throws {
        var toml = ""
        var written: [String] = []
        for table in Self.tables {
            toml += "[\(table)]\n"
            for key in HealthConfigKey.keys(in: table) {
                let shown = key.defaultValue(.defaults)
                // Unset optional strings have no value to write.
                guard shown.hasPrefix("`") else { continue }
                toml += "\(key.name) = \(shown.dropFirst().dropLast())\n"
                written.append(key.dottedName)
            }
        }
        let config = try HealthConfig.parse(toml, file: "/etc/hive/hive.toml")
        #expect(written.count >= 35)
        #expect(config.explicitKeys == Set(written))
        var comparable = config
        comparable.explicitKeys = []
        comparable.source = nil
        #expect(comparable == HealthConfig.defaults)
    }

    @Test("a key of the wrong type is an error at its line, naming the dotted key", arguments: tables)
    func wrongType(table: String) throws {
        for key in HealthConfigKey.keys(in: table) {
            let toml = "[\(table)]\n\n\(key.name) = [1, 2]\n"
            let (_, errors) = HealthConfig.check(toml, file: "hive.toml")
            let error = try #require(errors.first, "\(key.dottedName) accepted an array")
            #expect(error.key == key.dottedName)
            #expect(error.line == 3)
        }
    }

    @Test("an unknown key in a table is refused, naming every declared key of that table", arguments: tables)
    func unknownKey(table: String) throws {
        let (_, errors) = HealthConfig.check("[\(table)]\nno_such_key = 1\n", file: "hive.toml")
        let error = try #require(errors.first)
        #expect(error.key == "\(table).no_such_key")
        #expect(error.code == .unknownKey)
        for key in HealthConfigKey.keys(in: table) {
            #expect(error.message.contains(key.name), "\(error.message) does not name \(key.name)")
        }
    }
}

import Foundation
import HealthCatalogue
import Testing

@Suite("JSON Schema")
struct SchemaTests {
    static let schemaPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schema/checks.schema.json").path

    private func definitions() throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: Self.schemaPath), "missing \(Self.schemaPath)")
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(root["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        return try #require(root["$defs"] as? [String: Any])
    }

    private func propertyNames(_ definitions: [String: Any], _ name: String) throws -> Set<String> {
        let definition = try #require(definitions[name] as? [String: Any], "no $defs/\(name)")
        #expect(definition["additionalProperties"] as? Bool == false, "\(name) must refuse unknown keys")
        let properties = try #require(definition["properties"] as? [String: Any], "\(name) has no properties")
        for (key, value) in properties {
            let property = try #require(value as? [String: Any])
            let documented = property["description"] != nil
                || (property["$ref"] as? String).flatMap { definitions[String($0.dropFirst("#/$defs/".count))] }
                    .flatMap { ($0 as? [String: Any])?["description"] } != nil
            #expect(documented, "\(name).\(key) has no description")
        }
        return Set(properties.keys)
    }

    @Test("the shipped schema parses and names exactly the fields the loader accepts")
    func schemaMatchesLoader() throws {
        let definitions = try definitions()
        #expect(try propertyNames(definitions, "checksFile") == Set(CatalogueFormat.fileKeys))
        #expect(try propertyNames(definitions, "overlayFile") == Set(CatalogueFormat.overlayFileKeys))
        #expect(try propertyNames(definitions, "check") == Set(CatalogueFormat.checkKeys))
        #expect(try propertyNames(definitions, "override") == Set(CatalogueFormat.overrideKeys))
        #expect(try propertyNames(definitions, "thresholds") == Set(CatalogueFormat.thresholdKeys))
        let check = try #require(definitions["check"] as? [String: Any])
        #expect(Set(check["required"] as? [String] ?? []) == ["name", "probe"])
        let selector = try #require(definitions["selector"] as? [String: Any])
        let negation = try #require((selector["oneOf"] as? [[String: Any]])?.last?["properties"] as? [String: Any])
        #expect(Set(negation.keys) == [CatalogueFormat.negationKey])
    }
}

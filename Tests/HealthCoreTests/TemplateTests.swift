import Foundation
import HealthCore
import Testing

@Suite("Template")
struct TemplateTests {
    @Test("an instance target fills its fields")
    func rendersInstanceFields() throws {
        let fields = Fixture.fields(.instance(Fixture.instance()))
        let template = try Template("{{runtime_dir}}/qmp-{{instance.id}}.sock on {{ node.name }}")
        #expect(try template.render(fields) == "/run/hive/qmp-i-0123456789abcdef0.sock on node-a")
        #expect(template.fieldNames == ["runtime_dir", "instance.id", "node.name"])
        #expect(!template.isLiteral)
        #expect(template.description == "{{runtime_dir}}/qmp-{{instance.id}}.sock on {{ node.name }}")
    }

    @Test("a node target fills node fields")
    func rendersNodeFields() throws {
        let fields = Fixture.fields(.node(Fixture.node))
        let template = try Template("{{node.name}}/{{node.region}}/{{node.az}}/{{node.label.rack}}")
        #expect(try template.render(fields) == "node-a/ap-southeast-2/ap-southeast-2a/r12")
    }

    @Test("a volume target fills volume fields and those of its instance")
    func rendersVolumeFields() throws {
        let fields = Fixture.fields(.volume(Fixture.bootVolume, of: Fixture.instance()))
        let template = try Template(
            "{{volume.id}} {{volume.nbd_uri}} {{volume.device}} {{volume.boot}} {{instance.id}}")
        #expect(
            try template.render(fields)
                == "vol-0aa nbd:unix:/run/hive/vol-0aa.sock /dev/vda true i-0123456789abcdef0")
    }

    @Test("a template without placeholders is literal")
    func literal() throws {
        let template = try Template("/usr/lib/nagios/plugins/check_disk")
        #expect(template.isLiteral)
        #expect(template.fieldNames.isEmpty)
        #expect(try template.render(Fixture.fields(.node(Fixture.node))) == "/usr/lib/nagios/plugins/check_disk")
        #expect(try Template("").render(Fixture.fields(.node(Fixture.node))) == "")
    }

    @Test("a closing brace pair without an opening one is literal text")
    func strayClosingBraces() throws {
        let template = try Template("a }} b")
        #expect(template.isLiteral)
        #expect(try template.render(Fixture.fields(.node(Fixture.node))) == "a }} b")
    }

    @Test("an unclosed placeholder is an error", arguments: ["{{instance.id", "x {{", "{{a}} {{b"])
    func unclosed(source: String) {
        let error = #expect(throws: Template.Error.self) { try Template(source) }
        #expect(error?.message == "unclosed '{{' in '\(source)'")
    }

    @Test("an empty placeholder is an error", arguments: ["{{}}", "a {{  }} b"])
    func emptyPlaceholder(source: String) {
        #expect(throws: Template.Error.self) { try Template(source) }
    }

    @Test("a field the target does not have is an error naming the field and the target")
    func unknownField() throws {
        let template = try Template("{{volume.id}}")
        let error = #expect(throws: Template.Error.self) {
            try template.render(Fixture.fields(.instance(Fixture.instance())))
        }
        #expect(error?.message.contains("'{{volume.id}}'") == true)
        #expect(error?.message.contains("instance i-0123456789abcdef0") == true)
        let nodeFields = Fixture.fields(.node(Fixture.node))
        #expect(throws: Template.Error.self) { try Template("{{no.such.field}}").render(nodeFields) }
    }

    @Test("an optional field the instance lacks is an error")
    func missingOptionalField() throws {
        var instance = Fixture.instance()
        instance.privateIP = nil
        #expect(throws: Template.Error.self) {
            try Template("{{instance.private_ip}}").render(Fixture.fields(.instance(instance)))
        }
    }

    @Test("templates are Codable and keep their source")
    func codable() throws {
        let template = try Template("{{runtime_dir}}/x")
        let decoded = try JSONDecoder().decode(Template.self, from: JSONEncoder().encode(template))
        #expect(decoded == template)
        #expect(try decoded.render(Fixture.fields(.node(Fixture.node))) == "/run/hive/x")
    }
}

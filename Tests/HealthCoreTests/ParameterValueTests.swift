import Foundation
import HealthCore
import Testing

@Suite("ParameterValue")
struct ParameterValueTests {
    let fields = Fixture.fields(.instance(Fixture.instance()))

    @Test("rendering fills templates in strings, lists and maps")
    func renderStrings() throws {
        #expect(
            try ParameterValue.string("{{runtime_dir}}/qga-{{instance.id}}.sock").rendered(fields)
                == .string("/run/hive/qga-i-0123456789abcdef0.sock"))
        #expect(
            try ParameterValue.stringList(["/usr/bin/check", "--id", "{{instance.id}}", "-w"]).rendered(fields)
                == .stringList(["/usr/bin/check", "--id", "i-0123456789abcdef0", "-w"]))
        #expect(
            try ParameterValue.stringMap(["NODE": "{{node.name}}", "FIXED": "1"]).rendered(fields)
                == .stringMap(["NODE": "node-a", "FIXED": "1"]))
    }

    @Test(
        "rendering leaves other values unchanged",
        arguments: [
            ParameterValue.integer(3), .number(2.5), .boolean(true), .duration(.seconds(5)),
        ])
    func renderOthers(value: ParameterValue) throws {
        #expect(try value.rendered(fields) == value)
    }

    @Test("rendering fails on an unknown field or an unclosed placeholder in any element")
    func renderErrors() {
        #expect(throws: Template.Error.self) { try ParameterValue.string("{{volume.id}}").rendered(fields) }
        #expect(throws: Template.Error.self) { try ParameterValue.stringList(["ok", "{{bad"]).rendered(fields) }
        #expect(throws: Template.Error.self) { try ParameterValue.stringMap(["k": "{{nope}}"]).rendered(fields) }
    }

    @Test("templateFields lists every referenced field")
    func templateFields() throws {
        #expect(try ParameterValue.string("{{a}}-{{b}}").templateFields() == ["a", "b"])
        #expect(try ParameterValue.stringList(["{{a}}", "x", "{{c}}"]).templateFields() == ["a", "c"])
        #expect(
            try Set(ParameterValue.stringMap(["k1": "{{x}}", "k2": "{{y}}{{z}}"]).templateFields())
                == ["x", "y", "z"])
        #expect(try ParameterValue.integer(1).templateFields().isEmpty)
        #expect(try ParameterValue.string("plain").templateFields().isEmpty)
        #expect(throws: Template.Error.self) { try ParameterValue.stringList(["{{open"]).templateFields() }
    }

    @Test(
        "each value reports its type",
        arguments: zip(
            [
                ParameterValue.string(""), .integer(0), .number(0), .boolean(false), .duration(.zero), .stringList([]),
                .stringMap([:]),
            ],
            ParameterType.allCases))
    func types(value: ParameterValue, type: ParameterType) {
        #expect(value.type == type)
    }

    @Test("description prints values as checks.d would")
    func descriptions() {
        #expect(ParameterValue.string("x").description == "x")
        #expect(ParameterValue.integer(-3).description == "-3")
        #expect(ParameterValue.number(2.5).description == "2.5")
        #expect(ParameterValue.boolean(true).description == "true")
        #expect(ParameterValue.duration(.seconds(90)).description == "1m30s")
        #expect(ParameterValue.stringList(["a", "b"]).description == "[a, b]")
        #expect(ParameterValue.stringMap(["b": "2", "a": "1"]).description == "{a: 1, b: 2}")
    }

    @Test("jsonValue is JSON-serializable with durations as strings")
    func jsonValues() throws {
        let values: [String: any Sendable] = [
            "d": ParameterValue.duration(.milliseconds(500)).jsonValue, "l": ParameterValue.stringList(["a"]).jsonValue,
            "i": ParameterValue.integer(7).jsonValue, "b": ParameterValue.boolean(false).jsonValue,
        ]
        #expect(values["d"] as? String == "500ms")
        #expect(values["i"] as? Int == 7)
        let data = try JSONSerialization.data(withJSONObject: values.mapValues { $0 as Any }, options: [.sortedKeys])
        #expect(String(decoding: data, as: UTF8.self) == #"{"b":false,"d":"500ms","i":7,"l":["a"]}"#)
    }

    @Test("values round-trip through Codable")
    func codable() throws {
        let values: [ParameterValue] = [
            .string("{{instance.id}}"), .integer(4), .number(0.5), .boolean(true), .duration(.milliseconds(1500)),
            .stringList(["a", "b"]), .stringMap(["k": "v"]),
        ]
        #expect(try JSONDecoder().decode([ParameterValue].self, from: JSONEncoder().encode(values)) == values)
    }
}

@Suite("ProbeParameters")
struct ProbeParametersTests {
    let parameters = ProbeParameters([
        "name": .string("br-int"), "count": .integer(3), "ratio": .number(0.75), "whole": .number(4),
        "huge": .number(1e300), "notANumber": .number(.nan), "enabled": .boolean(true),
        "timeout": .duration(.seconds(2)), "argv": .stringList(["a", "b"]), "env": .stringMap(["K": "V"]),
    ])

    @Test("typed accessors read values of their type")
    func typedAccessors() {
        #expect(parameters.string("name") == "br-int")
        #expect(parameters.integer("count") == 3)
        #expect(parameters.number("ratio") == 0.75)
        #expect(parameters.boolean("enabled") == true)
        #expect(parameters.duration("timeout") == .seconds(2))
        #expect(parameters.stringList("argv") == ["a", "b"])
        #expect(parameters.stringMap("env") == ["K": "V"])
        #expect(parameters["count"] == .integer(3))
    }

    @Test("numbers and integers convert where exact")
    func numericConversions() {
        #expect(parameters.number("count") == 3.0)
        #expect(parameters.integer("whole") == 4)
        #expect(parameters.integer("ratio") == nil)
        #expect(parameters.integer("huge") == nil)
        #expect(parameters.integer("notANumber") == nil)
    }

    @Test("a missing name or a value of another type reads as nil")
    func mismatches() {
        #expect(parameters.string("missing") == nil)
        #expect(parameters.string("count") == nil)
        #expect(parameters.integer("name") == nil)
        #expect(parameters.number("enabled") == nil)
        #expect(parameters.boolean("name") == nil)
        #expect(parameters.duration("count") == nil)
        #expect(parameters.stringList("name") == nil)
        #expect(parameters.stringMap("argv") == nil)
        #expect(parameters["missing"] == nil)
        #expect(ProbeParameters().values.isEmpty)
    }

    @Test("a parameter spec keeps what it was given")
    func parameterSpec() {
        let spec = ParameterSpec(
            "min_available", .number, required: true, default: .number(0.1), range: 0...1, doc: "fraction")
        #expect(spec.name == "min_available")
        #expect(spec.type == .number)
        #expect(spec.required)
        #expect(spec.defaultValue == .number(0.1))
        #expect(spec.range == 0...1)
        #expect(spec.doc == "fraction")
        let optional = ParameterSpec("x", .string, doc: "")
        #expect(!optional.required)
        #expect(optional.defaultValue == nil)
        #expect(optional.range == nil)
    }
}

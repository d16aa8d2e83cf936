import HealthCore
import Testing

@Suite("probe environment: shared clients and parameter defaults applied in one place")
struct ProbeResourcesTests {
    final class Client: Sendable {
        let name: String
        init(_ name: String) { self.name = name }
    }

    @Test("one client per type and key for every copy of an environment; another environment has its own")
    func sharedPerEnvironment() {
        let environment = ProbeEnvironment()
        let copy = environment
        let first = environment.resources.shared(Client.self, key: "a") { Client("first") }
        let again = copy.resources.shared(Client.self, key: "a") { Client("second") }
        #expect(first === again)
        let other = copy.resources.shared(Client.self, key: "b") { Client("b") }
        #expect(other !== first)
        #expect(environment.resources.all(Client.self).count == 2)
        let elsewhere = ProbeEnvironment().resources.shared(Client.self, key: "a") { Client("elsewhere") }
        #expect(elsewhere.name == "elsewhere")
        environment.resources.provide(Client("provided"), key: "a")
        #expect(copy.resources.shared(Client.self, key: "a") { Client("unused") }.name == "provided")
    }

    @Test("defaults are applied and templates filled by resolveParameters; a given value wins; problems are named")
    func resolveParameters() {
        let descriptor = ProbeDescriptor(
            kind: "test.resolve", category: .instance, targets: [.instance],
            parameters: [
                ParameterSpec("socket", .string, default: .string("{{instance.id}}.sock"), doc: "a template default"),
                ParameterSpec("count", .integer, default: .integer(3), doc: "a plain default"),
                ParameterSpec("label", .string, doc: "no default"),
            ],
            summary: "test")
        let instance = InstanceInfo(id: "i-1")
        let fields = TargetFields(target: .instance(instance), node: NodeInfo(name: "n"), runtimeDirectory: "/run")
        let defaults = descriptor.resolveParameters([:], fields: fields)
        #expect(defaults.problem == nil)
        #expect(defaults.parameters.values == ["socket": .string("i-1.sock"), "count": .integer(3)])
        let given = descriptor.resolveParameters(["count": .integer(7), "label": .string("x")], fields: fields)
        #expect(given.parameters.integer("count") == 7)
        #expect(given.parameters.string("label") == "x")
        let broken = descriptor.resolveParameters(["label": .string("{{instance.nope}}")], fields: fields)
        #expect(broken.problem?.name == "label")
        #expect(broken.problem?.description.hasPrefix("parameter 'label': ") == true)
        #expect(broken.parameters.integer("count") == 3)
    }
}

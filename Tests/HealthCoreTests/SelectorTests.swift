import HealthCore
import Testing

@Suite("Selector and CheckDefinition.applies")
struct SelectorTests {
    let running = Fixture.fields(.instance(Fixture.instance()))
    let stopped = Fixture.fields(.instance(Fixture.instance(state: .stopped)))

    @Test("a selector matches when the field matches any of its patterns")
    func matchesAnyPattern() {
        #expect(Selector(field: "instance.state", patterns: ["running"]).matches(running))
        #expect(Selector(field: "instance.state", patterns: ["stopped", "run*"]).matches(running))
        #expect(!Selector(field: "instance.state", patterns: ["stopped", "pending"]).matches(running))
        #expect(Selector(field: "instance.label.env", patterns: ["pr?d"]).matches(running))
        #expect(Selector(field: "node.label.tier", patterns: ["gold"]).matches(running))
    }

    @Test("a selector without patterns matches nothing and its negation everything")
    func noPatterns() {
        #expect(!Selector(field: "instance.state", patterns: []).matches(running))
        #expect(Selector(field: "instance.state", patterns: [], negated: true).matches(running))
    }

    @Test("a negated selector matches when the field matches none of its patterns")
    func negation() {
        let notStopped = Selector(field: "instance.state", patterns: ["stopped", "terminated"], negated: true)
        #expect(notStopped.matches(running))
        #expect(!notStopped.matches(stopped))
        let notDev = Selector(field: "instance.label.env", patterns: ["dev*"], negated: true)
        #expect(notDev.matches(running))
    }

    @Test("a field the target does not have matches no pattern, not even * (only a negated selector)")
    func missingFieldMatchesNothing() {
        let nodeFields = Fixture.fields(.node(Fixture.node))
        #expect(!Selector(field: "instance.state", patterns: ["running"]).matches(nodeFields))
        #expect(Selector(field: "instance.state", patterns: ["running"], negated: true).matches(nodeFields))
        #expect(!Selector(field: "instance.label.missing", patterns: [""]).matches(running))
        #expect(!Selector(field: "instance.label.missing", patterns: ["*"]).matches(running))
        #expect(Selector(field: "instance.label.missing", patterns: ["*"], negated: true).matches(running))
    }

    @Test("a check applies when every selector matches")
    func appliesAllSelectors() {
        let check = CheckDefinition(
            name: "qmp-status", category: .instance, probe: "qmp.status", target: .instance,
            when: [
                Selector(field: "instance.state", patterns: ["running"]),
                Selector(field: "instance.label.env", patterns: ["dev"], negated: true),
            ])
        #expect(check.applies(to: running))
        #expect(!check.applies(to: stopped))
        var dev = Fixture.instance()
        dev.labels["env"] = "dev"
        #expect(!check.applies(to: Fixture.fields(.instance(dev))))
    }

    @Test("a check without selectors applies to every target")
    func appliesWithoutSelectors() {
        let check = CheckDefinition(name: "meminfo", category: .system, probe: "host.meminfo", target: .node)
        #expect(check.applies(to: Fixture.fields(.node(Fixture.node))))
        #expect(check.applies(to: stopped))
    }

    @Test("a check definition fills its defaults; splay defaults to the interval")
    func definitionDefaults() {
        let check = CheckDefinition(
            name: "ping", category: .instance, probe: "net.icmp", target: .instance, interval: .seconds(15))
        #expect(check.splay == .seconds(15))
        #expect(check.timeout == .seconds(10))
        #expect(check.jitter == .zero)
        #expect(check.thresholds == .default)
        #expect(check.enabled)
        #expect(check.params.isEmpty)
        #expect(check.location == nil)
        let explicit = CheckDefinition(
            name: "ping", category: .instance, probe: "net.icmp", target: .instance, splay: .seconds(2))
        #expect(explicit.interval == .seconds(60))
        #expect(explicit.splay == .seconds(2))
    }

    @Test("a source location prints as file:line:column")
    func sourceLocation() {
        #expect(
            SourceLocation(file: "checks.d/10-qmp.yaml", line: 4, column: 7).description
                == "checks.d/10-qmp.yaml:4:7")
    }
}

import HealthCore
import Testing

@Suite("ProbeRegistry")
struct ProbeRegistryTests {
    @Test("kinds are sorted whatever the registration order")
    func kindsSorted() throws {
        let registry = try ProbeRegistry([BetaProbe.self, AlphaProbe.self, AardvarkProbe.self])
        #expect(registry.kinds == ["test.aardvark", "test.alpha", "test.beta"])
        #expect(registry.descriptors.map(\.kind) == registry.kinds)
        #expect(registry.types.count == 3)
    }

    @Test("a kind registered twice throws DuplicateKindError naming it")
    func duplicateKind() {
        let error = #expect(throws: ProbeRegistry.DuplicateKindError.self) {
            try ProbeRegistry([AlphaProbe.self, BetaProbe.self, AlphaImpostorProbe.self])
        }
        #expect(error?.kind == "test.alpha")
        #expect(error?.description == "probe kind 'test.alpha' is registered twice")
        #expect(throws: ProbeRegistry.DuplicateKindError.self) { try ProbeRegistry([BetaProbe.self, BetaProbe.self]) }
    }

    @Test("an empty registry has no kinds")
    func empty() throws {
        let registry = try ProbeRegistry([])
        #expect(registry.kinds.isEmpty)
        #expect(registry.instantiate(environment: ProbeEnvironment()).isEmpty)
    }

    @Test("descriptors are found by kind")
    func descriptorByKind() throws {
        let registry = try ProbeRegistry([AlphaProbe.self, BetaProbe.self])
        let alpha = try #require(registry.descriptor(kind: "test.alpha"))
        #expect(alpha.category == .system)
        #expect(alpha.targets == [.node])
        #expect(alpha.timeoutClass == .standard)
        #expect(alpha.parameter("limit")?.defaultValue == .integer(5))
        #expect(alpha.parameter("missing") == nil)
        #expect(registry.descriptor(kind: "test.beta")?.timeoutClass == .qmp)
        #expect(registry.descriptor(kind: "test.nope") == nil)
    }

    @Test("instantiate makes one probe per kind with the given environment")
    func instantiate() async throws {
        let registry = try ProbeRegistry([AlphaProbe.self, BetaProbe.self, AardvarkProbe.self])
        let environment = ProbeEnvironment(runtimeDirectory: "/run/test-hive")
        let probes = registry.instantiate(environment: environment)
        #expect(Set(probes.keys) == ["test.aardvark", "test.alpha", "test.beta"])
        let alpha = try #require(probes["test.alpha"] as? AlphaProbe)
        #expect(alpha.runtimeDirectory == "/run/test-hive")

        let request = ProbeRequest(
            checkName: "c", target: .node(Fixture.node), node: Fixture.node, parameters: ProbeParameters(),
            timeout: .seconds(1), logger: environment.logger)
        #expect(await probes["test.alpha"]?.observe(request).outcome == .passed)
        #expect(await probes["test.beta"]?.observe(request).outcome == .failed)
        #expect(await probes["test.aardvark"]?.observe(request).outcome == .unknown)
    }

    @Test("merging adds a site's probes and rejects a kind already registered")
    func merging() throws {
        let builtIn = try ProbeRegistry([AlphaProbe.self])
        let merged = try builtIn.merging([BetaProbe.self, AardvarkProbe.self])
        #expect(merged.kinds == ["test.aardvark", "test.alpha", "test.beta"])
        #expect(builtIn.kinds == ["test.alpha"])
        let error = #expect(throws: ProbeRegistry.DuplicateKindError.self) {
            try builtIn.merging([AlphaImpostorProbe.self])
        }
        #expect(error?.kind == "test.alpha")
    }
}

@Suite("Probe support types")
struct ProbeSupportTests {
    @Test("hostPath puts absolute paths under the host root")
    func hostPath() {
        #expect(ProbeEnvironment().hostPath("/proc/meminfo") == "/proc/meminfo")
        #expect(ProbeEnvironment(hostRoot: "").hostPath("/proc/meminfo") == "/proc/meminfo")
        #expect(ProbeEnvironment(hostRoot: "/tmp/fixture").hostPath("/proc/meminfo") == "/tmp/fixture/proc/meminfo")
        #expect(ProbeEnvironment(hostRoot: "/tmp/fixture/").hostPath("/sys/x") == "/tmp/fixture/sys/x")
    }

    @Test("a request's state key combines check name and target id")
    func stateKey() {
        let a = ProbeRequest(
            checkName: "ab", target: .node(NodeInfo(name: "c")), node: Fixture.node, parameters: ProbeParameters(),
            timeout: .seconds(1), logger: ProbeEnvironment().logger)
        let b = ProbeRequest(
            checkName: "a", target: .node(NodeInfo(name: "bc")), node: Fixture.node, parameters: ProbeParameters(),
            timeout: .seconds(1), logger: ProbeEnvironment().logger)
        #expect(a.stateKey != b.stateKey)
        #expect(a.stateKey.hasPrefix("ab"))
        #expect(a.stateKey.hasSuffix("c"))
    }

    @Test("categories order system, instance, ebs")
    func categoryOrder() {
        #expect(HealthCategory.allCases.sorted() == [.system, .instance, .ebs])
        #expect(HealthCategory.system < .ebs)
        #expect(!(HealthCategory.ebs < .instance))
    }

    @Test("observation factories set the outcome")
    func observationFactories() {
        let passed = Observation.passed("ok", values: ["latency_ms": 1.5])
        #expect(passed.outcome == .passed)
        #expect(passed.values["latency_ms"] == 1.5)
        #expect(passed.duration == 0)
        #expect(Observation.failed("bad").outcome == .failed)
        #expect(Observation.unknown("?").message == "?")
    }

    @Test("a job record's key is check name and target id")
    func jobKey() {
        let record = JobRecord(
            check: "qmp-status", probe: "qmp.status", category: .instance, targetKind: .instance, targetID: "i-1",
            instanceID: "i-1", state: CheckState())
        #expect(record.key == "qmp-status/i-1")
        #expect(JobRecord.key(check: "qmp-status", targetID: "i-1") == record.key)
    }
}

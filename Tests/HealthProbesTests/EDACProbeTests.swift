import HealthCore
import HealthProbes
import Testing

@Suite("host.edac")
struct EDACProbeTests {
    static func controller(_ tree: FixtureTree, _ index: Int, ue: String, ce: String) throws {
        try tree.write("sys/devices/system/edac/mc/mc\(index)/ue_count", ue + "\n")
        try tree.write("sys/devices/system/edac/mc/mc\(index)/ce_count", ce + "\n")
    }

    @Test("no controllers pass with 'no EDAC memory controllers', or are unknown with require_edac")
    func noControllers() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let probe = EDACProbe(environment: tree.environment)
        let observation = await probe.observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.message == "no EDAC memory controllers")
        #expect(await probe.observe(makeRequest(["require_edac": .boolean(true)])).outcome == .unknown)
    }

    @Test("clean controllers pass with totals as values")
    func clean() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.controller(tree, 0, ue: "0", ce: "3")
        try Self.controller(tree, 1, ue: "0", ce: "4")
        let observation = await EDACProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.values["ce_count"] == 7)
        #expect(observation.values["ue_count"] == 0)
    }

    @Test("any uncorrectable error fails by default")
    func existingUE() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.controller(tree, 0, ue: "0", ce: "0")
        try Self.controller(tree, 1, ue: "2", ce: "0")
        let observation = await EDACProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("mc1 ue_count=2"))
    }

    @Test("with fail_on_existing_ue false only a rising uncorrectable count fails")
    func risingUE() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.controller(tree, 0, ue: "2", ce: "0")
        let probe = EDACProbe(environment: tree.environment)
        let request = makeRequest(["fail_on_existing_ue": .boolean(false)])
        #expect(await probe.observe(request).outcome == .passed)
        #expect(await probe.observe(request).outcome == .passed)
        try Self.controller(tree, 0, ue: "3", ce: "0")
        let rose = await probe.observe(request)
        #expect(rose.outcome == .failed)
        #expect(rose.message.contains("2 -> 3"))
    }

    @Test("correctable errors: the first run records, growth above max_ce_per_run fails")
    func correctableGrowth() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.controller(tree, 0, ue: "0", ce: "5000")
        let probe = EDACProbe(environment: tree.environment)
        let request = makeRequest(["max_ce_per_run": .integer(100)])
        #expect(await probe.observe(request).outcome == .passed)
        try Self.controller(tree, 0, ue: "0", ce: "5100")
        let within = await probe.observe(request)
        #expect(within.outcome == .passed)
        #expect(within.values["ce_delta"] == 100)
        try Self.controller(tree, 0, ue: "0", ce: "5201")
        let burst = await probe.observe(request)
        #expect(burst.outcome == .failed)
        #expect(burst.values["ce_delta"] == 101)
    }

    @Test("garbage or a missing counter is unknown naming the file")
    func garbage() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.controller(tree, 0, ue: "many", ce: "0")
        let observation = await EDACProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .unknown)
        #expect(observation.message.contains("mc0/ue_count"))

        let partial = try FixtureTree()
        defer { partial.remove() }
        try partial.write("sys/devices/system/edac/mc/mc0/ue_count", "0\n")
        let missing = await EDACProbe(environment: partial.environment).observe(makeRequest())
        #expect(missing.outcome == .unknown)
        #expect(missing.message.contains("mc0/ce_count"))
    }

    @Test("reads the real /sys of this machine without a parse error")
    func realHost() async throws {
        let observation = await EDACProbe(environment: ProbeEnvironment(hostRoot: "/")).observe(makeRequest())
        #expect(observation.outcome != .unknown, "\(observation.message)")
        #expect(!observation.message.isEmpty)
    }
}

import HealthCore
import HealthProbes
import ProbeKit
import Testing

@Suite("host.meminfo")
struct MemInfoProbeTests {
    static func meminfo(total: Int, available: Int?) -> String {
        var text = "MemTotal:       \(total) kB\nMemFree:         1000 kB\n"
        text += "Buffers:          200 kB\nCached:           300 kB\n"
        if let available { text += "MemAvailable:   \(available) kB\n" }
        return text + "HugePages_Total:       0\n"
    }

    @Test("passes when MemAvailable is above the percent threshold, with values in bytes")
    func passes() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/meminfo", Self.meminfo(total: 1_000_000, available: 500_000))
        let observation = await MemInfoProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.values["mem_available_bytes"] == Double(500_000 * 1024))
        #expect(observation.values["mem_total_bytes"] == Double(1_000_000 * 1024))
        #expect(observation.values["mem_available_percent"] == 50)
    }

    @Test("fails below min_available_percent and says available, total and the threshold")
    func failsOnPercent() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/meminfo", Self.meminfo(total: 1_048_576, available: 31_457))
        let observation = await MemInfoProbe(environment: tree.environment).observe(
            makeRequest(["min_available_percent": .number(5)]))
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("1.0 GiB"))
        #expect(observation.message.contains("30.7 MiB"))
        #expect(observation.message.contains("5.0%"))
    }

    @Test("fails below min_available_bytes even when the percentage is fine")
    func failsOnBytes() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/meminfo", Self.meminfo(total: 1000, available: 500))
        let observation = await MemInfoProbe(environment: tree.environment).observe(
            makeRequest(["min_available_bytes": .integer(1 << 20)]))
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("1.0 MiB"))
    }

    @Test("falls back to MemFree + Buffers + Cached without MemAvailable")
    func fallback() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/meminfo", Self.meminfo(total: 10_000, available: nil))
        let observation = await MemInfoProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.values["mem_available_bytes"] == Double(1500 * 1024))
    }

    @Test("a missing file is unknown and names the file")
    func missingFile() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let observation = await MemInfoProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .unknown)
        #expect(observation.message.contains(tree.path("proc/meminfo")))
    }

    @Test("garbage content is unknown, not a crash")
    func garbage() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/meminfo", "this is not meminfo\n\u{1}\u{2}: x y\nMemTotal: lots kB\n")
        let observation = await MemInfoProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .unknown)
        #expect(observation.message.contains("MemTotal"))
    }

    @Test("a parameter of the wrong type or out of range is unknown")
    func badParameter() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("proc/meminfo", Self.meminfo(total: 1000, available: 500))
        let probe = MemInfoProbe(environment: tree.environment)
        let wrongType = await probe.observe(makeRequest(["min_available_percent": .string("lots")]))
        #expect(wrongType.outcome == .unknown)
        #expect(wrongType.message.contains("min_available_percent"))
        let outOfRange = await probe.observe(makeRequest(["min_available_percent": .number(150)]))
        #expect(outOfRange.outcome == .unknown)
    }

    @Test("reads the real /proc/meminfo of this machine")
    func realHost() async throws {
        let observation = await MemInfoProbe(environment: ProbeEnvironment(hostRoot: "/")).observe(makeRequest())
        #expect(observation.outcome != .unknown, "\(observation.message)")
        let total = try #require(observation.values["mem_total_bytes"])
        #expect(total > 0)
        #expect((observation.values["mem_available_bytes"] ?? -1) >= 0)
    }
}

import Foundation
import HealthCore
import Logging
import SiteProbes
import Testing

@Suite("site.example probe")
struct SiteExampleProbeTests {
    let node = NodeInfo(name: "node-a")

    func request(_ parameters: [String: ParameterValue]) -> ProbeRequest {
        ProbeRequest(
            checkName: "site.example", target: .node(node), node: node, parameters: ProbeParameters(parameters),
            timeout: .seconds(1), logger: Logger(label: "test"))
    }

    func withRoot(_ body: (URL) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appending(path: "site-probes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appending(path: "etc"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try await body(root)
    }

    @Test("passes when the marker exists, fails when it is missing or lacks the expected text")
    func marker() async throws {
        try await withRoot { root in
            let probe = SiteExampleProbe(environment: ProbeEnvironment(hostRoot: root.path))
            let missing = await probe.observe(request(["path": .string("/etc/site-ok")]))
            #expect(missing.outcome == .failed)
            try Data("rack r1 ready\n".utf8).write(to: root.appending(path: "etc/site-ok"))
            #expect(await probe.observe(request(["path": .string("/etc/site-ok")])).outcome == .passed)
            let ready = await probe.observe(request(["path": .string("/etc/site-ok"), "expect": .string("ready")]))
            #expect(ready.outcome == .passed)
            let other = await probe.observe(request(["path": .string("/etc/site-ok"), "expect": .string("drained")]))
            #expect(other.outcome == .failed)
            #expect(other.message.contains("drained"))
        }
    }

    @Test("a marker that cannot be read is unknown, not failed")
    func unreadable() async throws {
        try await withRoot { root in
            let probe = SiteExampleProbe(environment: ProbeEnvironment(hostRoot: root.path))
            let observation = await probe.observe(request(["path": .string("/etc")]))
            #expect(observation.outcome == .unknown)
        }
    }

    @Test("defaults come from the declaration alone; a bad parameter or an oversized file is unknown")
    func declaredDefaults() async throws {
        try await withRoot { root in
            let probe = SiteExampleProbe(environment: ProbeEnvironment(hostRoot: root.path))
            try FileManager.default.createDirectory(
                at: root.appending(path: "etc/hive-health"), withIntermediateDirectories: true)
            // No `path` in the request: the declared default /etc/hive-health/site-ok is used.
            #expect(await probe.observe(request([:])).message == "/etc/hive-health/site-ok is missing")
            try Data("0123456789".utf8).write(to: root.appending(path: "etc/hive-health/site-ok"))
            let passed = await probe.observe(request([:]))
            #expect(passed.outcome == .passed)
            #expect(passed.values["bytes"] == 10)
            let small = await probe.observe(request(["max_bytes": .integer(4)]))
            #expect(small.outcome == .unknown)
            #expect(small.message.contains("larger than 4 bytes"))
            let outOfRange = await probe.observe(request(["max_bytes": .integer(0)]))
            #expect(outOfRange.outcome == .unknown)
            #expect(outOfRange.message.contains("max_bytes"))
            let wrongType = await probe.observe(request(["path": .integer(3)]))
            #expect(wrongType.outcome == .unknown)
        }
    }

    @Test("the build registered it from its source file alone: SiteProbesRegistry lists site.example")
    func registered() throws {
        #expect(SiteProbesRegistry.probeTypes.map { $0.descriptor.kind } == ["site.example"])
        let registry = try ProbeRegistry(SiteProbesRegistry.probeTypes)
        #expect(registry.descriptor(kind: "site.example")?.targets == [.node])
    }
}

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

    @Test("the build registered it from its source file alone: SiteProbesRegistry lists site.example")
    func registered() throws {
        #expect(SiteProbesRegistry.probeTypes.map { $0.descriptor.kind } == ["site.example"])
        let registry = try ProbeRegistry(SiteProbesRegistry.probeTypes)
        #expect(registry.descriptor(kind: "site.example")?.targets == [.node])
    }
}

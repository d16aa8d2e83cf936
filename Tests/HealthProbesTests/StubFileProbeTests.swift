import Foundation
import HealthCore
import HealthProbes
import Testing

@Suite("stub.file probe")
struct StubFileProbeTests {
    @Test("fails while the flag file exists, passes when it is gone")
    func flips() async throws {
        let flag = FileManager.default.temporaryDirectory.appending(path: "stub-file-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: flag) }
        let probe = StubFileProbe(environment: ProbeEnvironment())
        let request = makeRequest(check: "stub", target: .node(testNode), ["path": .string(flag)])
        #expect(await probe.observe(request).outcome == .passed)
        #expect(FileManager.default.createFile(atPath: flag, contents: nil))
        #expect(await probe.observe(request).outcome == .failed)
        try FileManager.default.removeItem(atPath: flag)
        #expect(await probe.observe(request).outcome == .passed)
    }

    @Test("is registered under the kind stub.file")
    func registered() throws {
        let registry = try ProbeRegistry(HealthProbesRegistry.probeTypes)
        #expect(registry.descriptor(kind: "stub.file")?.parameters.map(\.name) == ["path"])
    }
}

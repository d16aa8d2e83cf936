import HealthCore
import HealthProbes
import Testing

@Suite("noop probe")
struct NoopProbeTests {
    @Test("passes for every kind of target and takes no parameters")
    func passesEverywhere() async {
        let probe = NoopProbe(environment: ProbeEnvironment())
        let volume = VolumeInfo(id: "vol-0123456789abcdef0")
        let instance = InstanceInfo(id: "i-0123456789abcdef0", volumes: [volume])
        for target: Target in [.node(testNode), .instance(instance), .volume(volume, of: instance)] {
            let observation = await probe.observe(makeRequest(check: "noop-check", target: target))
            #expect(observation.outcome == .passed)
            #expect(observation.message == "no-op")
            #expect(observation.values.isEmpty)
        }
        #expect(NoopProbe.descriptor.kind == "noop")
        #expect(NoopProbe.descriptor.category == .instance)
        #expect(NoopProbe.descriptor.targets == [.node, .instance, .volume])
        #expect(NoopProbe.descriptor.parameters.isEmpty)
    }

    @Test("is registered under the kind noop")
    func registered() throws {
        let registry = try ProbeRegistry(HealthProbesRegistry.probeTypes)
        #expect(registry.descriptor(kind: "noop")?.summary == "always passes; for benchmarks and plumbing tests")
    }
}

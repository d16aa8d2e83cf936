import HealthCore
import HealthProbes
import ProbeKit
import Testing

@Suite("probe registry")
struct RegistryTests {
    @Test("the generated registry lists exactly the built-in probes and has no duplicate kinds")
    func kinds() throws {
        let kinds = HealthProbesRegistry.probeTypes.map { $0.descriptor.kind }.sorted()
        let expected: Set<String> = [
            "exec", "host.edac", "host.meminfo", "host.thermal", "noop", "qemu.process", "node.heartbeat",
            "viperblock.service", "viperblock.volume",
            "qmp.status", "qmp.events", "qmp.guest-ping", "console.log", "guest.resources",
            "nbd.export", "nbd.device", "qmp.block", "ebs.attachment", "host.smart",
        ]
        #expect(expected.isSubset(of: Set(kinds)), "missing: \(expected.subtracting(kinds))")
        #expect(Set(kinds).count == kinds.count)
        let registry = try ProbeRegistry(HealthProbesRegistry.probeTypes)
        #expect(registry.kinds == kinds)
        #expect(registry.instantiate(environment: ProbeEnvironment()).count == kinds.count)
    }

    @Test("the storage probes of the ebs category default to hive.toml's ebs_timeout")
    func storageTimeouts() {
        for kind in ["nbd.export", "nbd.device", "qmp.block", "ebs.attachment"] {
            let descriptor = HealthProbesRegistry.probeTypes.map { $0.descriptor }.first { $0.kind == kind }
            #expect(descriptor?.category == .ebs, "\(kind)")
            #expect(descriptor?.timeoutClass == .ebs, "\(kind)")
        }
    }

    @Test("every parameter has documentation, and defaults match their declared type")
    func descriptors() {
        for type in HealthProbesRegistry.probeTypes {
            let descriptor = type.descriptor
            #expect(!descriptor.summary.isEmpty)
            for spec in descriptor.parameters {
                #expect(!spec.doc.isEmpty, "\(descriptor.kind).\(spec.name)")
                if let value = spec.defaultValue {
                    #expect(value.type == spec.type, "\(descriptor.kind).\(spec.name)")
                }
            }
        }
    }

    @Test("per-check memory forgets the least recently used keys beyond its capacity")
    func memoryBound() {
        let memory = PerCheckMemory<Int>(capacity: 10)
        let start = ContinuousClock.now
        for index in 0..<25 {
            memory.update("key-\(index)", now: start + .seconds(index)) { $0 = index }
        }
        #expect(memory.count <= 10)
        let newest = memory.update("key-24", now: start + .seconds(30)) { $0 }
        #expect(newest == 24)
        let oldest = memory.update("key-0", now: start + .seconds(31)) { $0 }
        #expect(oldest == nil)
        memory.update("late", now: start + .seconds(30 + 7200)) { $0 = 1 }
        #expect(memory.count == 1)
    }
}

import Foundation
import HealthCore
import HealthProbes
import Testing

@Suite("nbd.device")
struct NBDDeviceProbeTests {
    @Test("connected devices with a live client pass; a dead client or a down multipath path fails")
    func sysfsTree() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let me = ProcessInfo.processInfo.processIdentifier
        try tree.write("sys/block/nbd0/pid", "\(me)\n")
        try tree.write("sys/block/nbd0/size", "2048\n")
        try tree.write("proc/\(me)/stat", "")
        try tree.write("sys/block/nbd1/size", "0\n")
        let probe = NBDDeviceProbe(environment: tree.environment)
        let connected = await probe.observe(makeRequest())
        #expect(connected.outcome == .passed, "\(connected.message)")
        #expect(connected.message.contains("nbd0 connected"), "\(connected.message)")

        let idle = await probe.observe(makeRequest(["device": .string("/dev/nbd1")]))
        #expect(idle.outcome == .failed)
        #expect(idle.message.contains("not connected"), "\(idle.message)")

        try tree.write("sys/block/nbd2/pid", "999999999\n")
        try tree.write("sys/block/nbd2/size", "2048\n")
        let dead = await probe.observe(makeRequest())
        #expect(dead.outcome == .failed)
        #expect(dead.message.contains("nbd2: its client process 999999999 is gone"), "\(dead.message)")

        try tree.write("sys/block/dm-0/dm/uuid", "mpath-3600a098\n")
        try tree.write("sys/block/dm-0/dm/name", "mpatha\n")
        try tree.write("sys/block/dm-0/slaves/sdb/x", "")
        try tree.write("sys/block/sdb/device/state", "offline\n")
        let paths = await probe.observe(makeRequest(["device": .string("/dev/nbd0"), "multipath": .string("mpatha")]))
        #expect(paths.outcome == .failed)
        #expect(paths.message.contains("multipath mpatha: 1 of 1 paths down"), "\(paths.message)")
    }

    @Test("a host with no kernel NBD device and no multipath passes, saying so")
    func nothing() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("sys/block/vda/size", "100\n")
        let observation = await NBDDeviceProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.message.contains("no kernel NBD devices"))
    }
}

import Foundation
import HealthCore
import HealthProbes
import HealthTestKit
import Testing

@Suite("host.smart")
struct SMARTProbeTests {
    func observe(_ blobs: [String: SMARTBlob], _ parameters: [String: ParameterValue] = [:]) async throws
        -> Observation
    {
        let tree = try FixtureTree()
        defer { tree.remove() }
        var devices: [String] = []
        for (name, blob) in blobs.sorted(by: { $0.key < $1.key }) {
            let path = tree.path(name)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(blob.bytes)))
            devices.append("blob:" + path)
        }
        var all = parameters
        all["devices"] = .stringList(devices)
        return await SMARTProbe(environment: tree.environment).observe(makeRequest(all))
    }

    @Test("a healthy disk passes with its temperature and power-on time")
    func healthy() async throws {
        let observation = try await observe(["sda": .healthy(celsius: 38, powerOnHours: 1200)])
        #expect(observation.outcome == .passed, "\(observation.message)")
        #expect(observation.values["temperature_celsius_sda"] == 38)
        #expect(observation.values["power_on_hours_sda"] == 1200)
        #expect(observation.message.contains("sda good"), "\(observation.message)")
    }

    @Test("a failing disk fails with the reason")
    func failing() async throws {
        let observation = try await observe(["sda": .healthy(), "sdb": .failing()])
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("sdb"), "\(observation.message)")
        #expect(observation.message.contains("self-assessment negative"), "\(observation.message)")
        #expect(!observation.message.contains("sda"), "\(observation.message)")
    }

    @Test("bad sectors and temperature against their limits")
    func limits() async throws {
        let worn = SMARTBlob(
            attributes: SMARTBlob.standardAttributes(reallocated: 3, pending: 0, celsius: 30, hours: 1))
        let failed = try await observe(["sda": worn])
        #expect(failed.outcome == .failed)
        #expect(failed.message.contains("3 bad sectors"), "\(failed.message)")
        let tolerated = try await observe(["sda": worn], ["max_bad_sectors": .integer(5)])
        #expect(tolerated.outcome == .passed, "\(tolerated.message)")
        let hot = try await observe(["sda": .healthy(celsius: 70)])
        #expect(hot.outcome == .failed)
        #expect(hot.message.contains("70 °C"), "\(hot.message)")
    }

    @Test("no SMART-capable disk passes, saying so; an unreadable blob is unknown")
    func none() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("sys/block/vda/size", "0\n")
        let probe = SMARTProbe(environment: tree.environment)
        let observation = await probe.observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.message.contains("no SMART-capable disks"))
        try tree.write("sys/block/sdz/device/power/runtime_status", "suspended\n")
        let asleep = await probe.observe(makeRequest())
        #expect(asleep.outcome == .passed)
        #expect(asleep.message.contains("sdz suspended (not read)"), "\(asleep.message)")
        try tree.write("junk.blob", "not a blob")
        let junk = await probe.observe(makeRequest(["devices": .stringList(["blob:" + tree.path("junk.blob")])]))
        #expect(junk.outcome == .unknown)
    }
}

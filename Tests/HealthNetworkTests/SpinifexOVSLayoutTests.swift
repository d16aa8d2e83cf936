import Foundation
import HealthCore
import HealthNetwork
import HealthProbes
import HealthTestKit
import Testing

/// `ovs.port` on Spinifex's layout (spinifex/network/host/imds_patch.go, imds_datapath.go at ddf22cac), against a
/// real ovsdb-server: the primary tap on br-imds with its `imi-<fnv32a(eni)>` patch port on br-int carrying the OVN
/// binding; secondary ENIs' taps on br-int.
@Suite("ovs.port on Spinifex's br-imds layout", .serialized)
struct SpinifexOVSLayoutTests {
    let eni = "eni-0abc123def4567890"
    let mac = "02:00:00:ab:cd:ef"
    /// This test's shared clients: the probe's OVSDB monitors, shut down by the test.
    let environment = ProbeEnvironment(logger: testLogger)

    func observe(
        _ fixture: OVSDBFixture, instance: InstanceInfo, until predicate: @escaping (Observation) -> Bool
    ) async -> Observation {
        let probe = OVSPortProbe(environment: environment)
        let parameters: [String: ParameterValue] = [
            "db_socket": .string(fixture.socket), "fallback": .boolean(false),
            "interface": .string(instance.tapDevice ?? ""),
        ]
        let request = ProbeRequest(
            checkName: "ovs.port", target: .instance(instance), node: NodeInfo(name: "node1"),
            parameters: ProbeParameters(parameters), timeout: .seconds(5), logger: testLogger)
        var last = Observation.unknown("not run")
        _ = await eventually(timeout: .seconds(10), poll: .milliseconds(20)) {
            last = await probe.observe(request)
            return predicate(last)
        }
        return last
    }

    @Test("the patch port's name is Go's FNV-32a of the whole ENI id in 8 hex digits")
    func patchPortName() {
        // Known answers of Go's hash/fnv New32a (and Python's reference implementation) for these strings.
        #expect(OVSPortProbe.fnv32aHex("eni-0abc123def4567890") == "e0453594")
        #expect(OVSPortProbe.fnv32aHex("eni-1") == "1f2e9657")
        #expect(OVSPortProbe.fnv32aHex("") == "811c9dc5")
    }

    @Test("tap on br-imds + imi- patch on br-int passes; a wrong binding or a missing patch fails, named")
    func primaryENIOnBrIMDS() async throws {
        let fixture = try await OVSDBFixture()
        defer { fixture.stop() }
        defer { Task { await environment.ovsdbMonitor(socketPath: fixture.socket).shutdown() } }
        let instance = InstanceInfo(id: "i-0spx", eniID: eni, eniMAC: mac)
        let tap = try #require(instance.tapDevice)
        let patch = try fixture.addSpinifexPrimaryPort(tap, eni: eni, mac: mac)
        #expect(patch == "imi-e0453594")
        var seen = await observe(fixture, instance: instance) { $0.outcome == .passed }
        #expect(seen.outcome == .passed, "\(seen.message)")
        #expect(seen.message.contains("br-imds") && seen.message.contains(patch), "\(seen.message)")

        let faults: [([String], String)] = [
            (["set", "Interface", patch, "external_ids:iface-id=port-eni-other"], "iface-id port-eni-other"),
            (
                [
                    "set", "Interface", patch, "external_ids:iface-id=port-\(eni)",
                    "external_ids:attached-mac=02:00:00:00:00:01",
                ],
                "attached-mac"
            ),
            (["set", "Interface", patch, "external_ids:attached-mac=\(mac)", "ofport=-1"], "ofport -1"),
            (["set", "Interface", patch, "ofport=207", "--", "set", "Interface", tap, "link_state=down"], "link state"),
        ]
        for (command, cause) in faults {
            try fixture.vsctl(command)
            seen = await observe(fixture, instance: instance) { $0.message.contains(cause) }
            #expect(seen.outcome == .failed, "\(command): \(seen.message)")
            #expect(seen.message.contains(cause), "\(command): \(seen.message)")
        }
        try fixture.vsctl(["set", "Interface", tap, "link_state=up"])
        #expect(await observe(fixture, instance: instance) { $0.outcome == .passed }.outcome == .passed)
        try fixture.vsctl(["del-port", "br-int", patch])
        seen = await observe(fixture, instance: instance) { $0.message.contains("no such interface") }
        #expect(seen.outcome == .failed)
        #expect(seen.message.contains(patch), "\(seen.message)")
    }

    @Test("secondary ENIs (extra_enis) are taps on br-int with their own iface-id; the hive-era tap still passes")
    func secondaryENIsAndHiveEra() async throws {
        let fixture = try await OVSDBFixture()
        defer { fixture.stop() }
        defer { Task { await environment.ovsdbMonitor(socketPath: fixture.socket).shutdown() } }
        var instance = InstanceInfo(id: "i-0spx2", eniID: eni, eniMAC: mac)
        instance.extraENIs = [.init(eniID: "eni-0second000000001", eniMAC: "02:00:00:00:00:02")]
        let tap = try #require(instance.tapDevice)
        try fixture.addSpinifexPrimaryPort(tap, eni: eni, mac: mac)
        let secondTap = InstanceInfo.tapDevice(eni: "eni-0second000000001")
        var seen = await observe(fixture, instance: instance) { $0.message.contains(secondTap) }
        #expect(seen.outcome == .failed, "\(seen.message)")
        try fixture.addHealthyPort(secondTap, eni: "eni-0second000000001", ofport: 9)
        seen = await observe(fixture, instance: instance) { $0.outcome == .passed }
        #expect(seen.outcome == .passed, "\(seen.message)")

        // The hive era: the tap on br-int carrying the binding itself.
        let hive = InstanceInfo(id: "i-0hive", eniID: "eni-0hive1234")
        try fixture.addHealthyPort(try #require(hive.tapDevice), eni: "eni-0hive1234", ofport: 11)
        seen = await observe(fixture, instance: hive) { $0.outcome == .passed }
        #expect(seen.outcome == .passed, "\(seen.message)")
    }
}

import Foundation
import HealthCore
import Testing

@Suite("Target and InstanceInfo")
struct TargetTests {
    @Test("the tap device derives from the ENI id, cut to 15 characters")
    func tapFromENI() {
        let instance = InstanceInfo(id: "i-1", eniID: "eni-0123456789abcdef0")
        #expect(instance.tapDevice == "tap0123456789ab")
        #expect(instance.tapDevice?.count == 15)
        #expect(InstanceInfo(id: "i-1", eniID: "eni-abc").tapDevice == "tapabc")
        #expect(InstanceInfo(id: "i-1", eniID: "abc").tapDevice == "tapabc")
    }

    @Test("an explicit tap name wins and no ENI means no tap")
    func tapExplicitOrNone() {
        #expect(InstanceInfo(id: "i-1", eniID: "eni-0123456789abcdef0", tapName: "tap-x").tapDevice == "tap-x")
        #expect(InstanceInfo(id: "i-1").tapDevice == nil)
        #expect(InstanceInfo(id: "i-1", eniID: "").tapDevice == nil)
    }

    @Test("a target knows its kind, id and instance")
    func targetIdentity() {
        let instance = Fixture.instance()
        let node = Target.node(Fixture.node)
        let vm = Target.instance(instance)
        let volume = Target.volume(Fixture.dataVolume, of: instance)
        #expect([node.kind, vm.kind, volume.kind] == [.node, .instance, .volume])
        #expect([node.id, vm.id, volume.id] == ["node-a", "i-0123456789abcdef0", "vol-0bb"])
        #expect(node.instance == nil)
        #expect(vm.instance?.id == instance.id)
        #expect(volume.instance?.id == instance.id)
    }

    @Test(
        "instance states map to EC2 names and codes",
        arguments: [
            (InstanceState.provisioning, "pending", 0), (.pending, "pending", 0), (.running, "running", 16),
            (.shuttingDown, "shutting-down", 32), (.terminated, "terminated", 48), (.stopping, "stopping", 64),
            (.stopped, "stopped", 80), (.error, "stopped", 80), (InstanceState(rawValue: "weird"), "weird", 80),
        ])
    func ec2States(state: InstanceState, name: String, code: Int) {
        #expect(state.ec2Name == name)
        #expect(state.ec2Code == code)
    }

    @Test("an instance state encodes as its bare string")
    func instanceStateCoding() throws {
        let data = try JSONEncoder().encode([InstanceState.shuttingDown])
        #expect(String(decoding: data, as: UTF8.self) == #"["shutting-down"]"#)
        #expect(try JSONDecoder().decode([InstanceState].self, from: data) == [.shuttingDown])
    }
}

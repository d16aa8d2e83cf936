import HealthCore
import Testing

@Suite("TargetFields")
struct TargetFieldsTests {
    @Test("every listed field of an instance has a value for a fully described instance")
    func instanceFields() throws {
        let fields = Fixture.fields(.instance(Fixture.instance(telemetry: "/run/hive/qmp-telemetry.sock")))
        for name in try #require(TargetFields.names[.instance]) {
            #expect(fields[name] != nil, "\(name)")
        }
        #expect(fields["instance.id"] == "i-0123456789abcdef0")
        #expect(fields["instance.state"] == "running")
        #expect(fields["instance.az"] == "ap-southeast-2a")
        #expect(fields["instance.qmp_socket"] == "/run/hive/qmp-telemetry.sock")
        #expect(fields["instance.hive_qmp_socket"] == "/run/hive/qmp-i-0123456789abcdef0.sock")
        #expect(fields["instance.guest_agent_socket"] == "/run/hive/qga-i-0123456789abcdef0.sock")
        #expect(fields["instance.pid_file"] == "/run/hive/i-0123456789abcdef0.pid")
        #expect(fields["instance.serial_socket"] == "/run/hive/serial-i-0123456789abcdef0.sock")
        #expect(fields["instance.console_log"] == "/run/hive/console-i-0123456789abcdef0.log")
        #expect(fields["instance.eni_id"] == "eni-0123456789abcdef0")
        #expect(fields["instance.eni_mac"] == "02:00:00:aa:bb:cc")
        #expect(fields["instance.private_ip"] == "10.0.0.5")
        #expect(fields["instance.tap"] == "tap0123456789ab")
        #expect(fields["instance.guest_agent"] == "true")
        #expect(fields["instance.hive_health"] == "true")
        #expect(fields["runtime_dir"] == "/run/hive")
        #expect(fields["volume.id"] == nil)
    }

    @Test("the health QMP socket is Hive's own when there is no telemetry monitor")
    func qmpSocketFallsBack() {
        let fields = Fixture.fields(.instance(Fixture.instance()))
        #expect(fields["instance.qmp_socket"] == "/run/hive/qmp-i-0123456789abcdef0.sock")
    }

    @Test("every listed field of a volume has a value")
    func volumeFields() throws {
        let fields = Fixture.fields(.volume(Fixture.dataVolume, of: Fixture.instance()))
        for name in try #require(TargetFields.names[.volume]) {
            #expect(fields[name] != nil, "\(name)")
        }
        #expect(fields["volume.id"] == "vol-0bb")
        #expect(fields["volume.nbd_uri"] == "nbd://127.0.0.1:10809/vol-0bb")
        #expect(fields["volume.device"] == "/dev/vdb")
        #expect(fields["volume.boot"] == "false")
        #expect(fields["instance.id"] == "i-0123456789abcdef0")
    }

    @Test("a node target has node fields only")
    func nodeFields() throws {
        let fields = Fixture.fields(.node(Fixture.node), runtimeDirectory: "/tmp")
        for name in try #require(TargetFields.names[.node]) { #expect(fields[name] != nil, "\(name)") }
        #expect(fields["runtime_dir"] == "/tmp")
        #expect(fields["instance.id"] == nil)
        #expect(fields["instance.label.env"] == nil)
        #expect(fields["volume.id"] == nil)
    }

    @Test("label fields read the node's and the instance's labels")
    func labelFields() {
        let fields = Fixture.fields(.instance(Fixture.instance()))
        #expect(fields["node.label.tier"] == "gold")
        #expect(fields["instance.label.env"] == "prod")
        #expect(fields["instance.label.team"] == "storage")
        #expect(fields["instance.label.missing"] == nil)
        #expect(fields["node.label.missing"] == nil)
    }

    @Test("isKnown accepts listed names and non-empty label keys for the right target kinds")
    func isKnown() {
        #expect(TargetFields.isKnown("instance.id", for: .instance))
        #expect(TargetFields.isKnown("volume.nbd_uri", for: .volume))
        #expect(!TargetFields.isKnown("volume.nbd_uri", for: .instance))
        #expect(!TargetFields.isKnown("instance.id", for: .node))
        #expect(TargetFields.isKnown("node.label.rack", for: .node))
        #expect(TargetFields.isKnown("node.label.rack", for: .volume))
        #expect(!TargetFields.isKnown("node.label.", for: .node))
        #expect(TargetFields.isKnown("instance.label.env", for: .instance))
        #expect(TargetFields.isKnown("instance.label.env", for: .volume))
        #expect(!TargetFields.isKnown("instance.label.env", for: .node))
        #expect(!TargetFields.isKnown("instance.label.", for: .instance))
        #expect(!TargetFields.isKnown("bogus", for: .volume))
    }

    @Test("every listed name is known for its kind and the kinds nest node < instance < volume")
    func namesAreConsistent() throws {
        let node = try #require(TargetFields.names[.node])
        let instance = try #require(TargetFields.names[.instance])
        let volume = try #require(TargetFields.names[.volume])
        #expect(Set(node).isSubset(of: Set(instance)))
        #expect(Set(instance).isSubset(of: Set(volume)))
        for kind in TargetKind.allCases {
            for name in TargetFields.names[kind] ?? [] { #expect(TargetFields.isKnown(name, for: kind)) }
        }
    }
}

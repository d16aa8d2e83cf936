import Foundation
import HealthCore
import HealthInventory
import Logging
import Testing

@Suite("FileInventory")
struct FileInventoryTests {
    let node = NodeInfo(name: "node1", region: "ap-southeast-2", availabilityZone: "ap-southeast-2a")
    let layout = RuntimeLayout(directory: "/run/user/0")
    let logger = Logger(label: "test.inventory")

    /// A document shaped like Hive's `hive-instance-state` value, with fields health does not read.
    static let hiveDocument = """
        {
          "vms": {
            "i-0a1b2c3d4e5f60718": {
              "id": "i-0a1b2c3d4e5f60718",
              "status": "running",
              "instance_type": "t3.micro",
              "config": {
                "name": "i-0a1b2c3d4e5f60718",
                "pid_file": "/var/run/hive/i-0a1b2c3d4e5f60718.pid",
                "qmp_socket": "/var/run/hive/qmp-i-0a1b2c3d4e5f60718.sock",
                "telemetry_qmp_socket": "/var/run/hive/qmp-telemetry-i-0a1b2c3d4e5f60718.sock",
                "console_log_path": "/var/log/hive/console-i-0a1b2c3d4e5f60718.log",
                "serial_socket": "/var/run/hive/serial-i-0a1b2c3d4e5f60718.sock",
                "enable_kvm": true, "cpu_count": 2, "memory": 1024,
                "drives": [{"file": "nbd:unix:/run/nbd/vol-0aa.sock", "format": "raw", "if": "none", "id": "os"}]
              },
              "ebs_requests": {
                "Requests": [
                  {"Name": "vol-0aa", "NBDURI": "nbd:unix:/run/nbd/vol-0aa.sock", "DeviceName": "/dev/sda1",
                   "Boot": true, "CloudInit": false},
                  {"Name": "vol-0bb", "NBDURI": "nbd://127.0.0.1:34305/default", "DeviceName": "/dev/sdf",
                   "Boot": false}
                ]
              },
              "eni_requests": {"Requests": []},
              "attributes": {"stop_instance": false},
              "eni_id": "eni-0123456789abcdef0",
              "eni_mac": "02:00:00:12:34:56",
              "instance": {
                "InstanceId": "i-0a1b2c3d4e5f60718",
                "PrivateIpAddress": "10.0.1.23",
                "LaunchTime": "2026-03-04T05:06:07.891234567Z",
                "Placement": {"AvailabilityZone": "ap-southeast-2b", "Tenancy": "default"},
                "Tags": [{"Key": "Name", "Value": "web-1"}, {"Key": "team", "Value": "from-aws"}]
              },
              "tags": {"team": "from-tags", "env": "prod"},
              "labels": {"env": "staging"},
              "health": {"crash_count": 0}
            },
            "i-0ffee": {
              "status": "stopped",
              "config": {"qmp_socket": ""},
              "ebs_requests": {"Requests": null},
              "instance": {"LaunchTime": "2026-03-04T05:06:07+10:00", "PrivateIpAddress": null}
            }
          },
          "something_new": [1, 2, 3]
        }
        """

    @Test("a Hive document maps every field health reads, and ignores the rest")
    func hiveDocumentFields() throws {
        let snapshot = FileInventory.parse(Array(Self.hiveDocument.utf8), node: node, layout: layout)
        #expect(snapshot.skipped.isEmpty)
        #expect(snapshot.instances.map(\.id) == ["i-0a1b2c3d4e5f60718", "i-0ffee"])
        let web = try #require(snapshot.instances.first)
        #expect(web.state == .running)
        #expect(web.node == "node1")
        #expect(web.availabilityZone == "ap-southeast-2b")
        #expect(web.qmpSocket == "/var/run/hive/qmp-i-0a1b2c3d4e5f60718.sock")
        #expect(web.telemetryQMPSocket == "/var/run/hive/qmp-telemetry-i-0a1b2c3d4e5f60718.sock")
        #expect(web.healthQMPSocket == "/var/run/hive/qmp-telemetry-i-0a1b2c3d4e5f60718.sock")
        #expect(web.pidFile == "/var/run/hive/i-0a1b2c3d4e5f60718.pid")
        #expect(web.serialSocket == "/var/run/hive/serial-i-0a1b2c3d4e5f60718.sock")
        #expect(web.consoleLogPath == "/var/log/hive/console-i-0a1b2c3d4e5f60718.log")
        #expect(web.guestAgentSocket == "/run/user/0/qga-i-0a1b2c3d4e5f60718.sock")
        #expect(web.eniID == "eni-0123456789abcdef0")
        #expect(web.eniMAC == "02:00:00:12:34:56")
        #expect(web.tapDevice == "tap0123456789ab")
        #expect(web.privateIP == "10.0.1.23")
        let launch = try #require(web.launchTime)
        // 2026-03-04T05:06:07Z is 1772600767 s after the epoch.
        #expect(abs(launch.timeIntervalSince1970 - 1_772_600_767.891_234_567) < 0.000_01)
        #expect(web.labels == ["Name": "web-1", "team": "from-tags", "env": "staging"])
        #expect(
            web.volumes == [
                VolumeInfo(
                    id: "vol-0aa", nbdURI: "nbd:unix:/run/nbd/vol-0aa.sock", deviceName: "/dev/sda1", boot: true),
                VolumeInfo(id: "vol-0bb", nbdURI: "nbd://127.0.0.1:34305/default", deviceName: "/dev/sdf", boot: false),
            ])
    }

    @Test("missing paths default to the runtime layout, the id to the map key, the zone to the node's")
    func defaults() throws {
        let snapshot = FileInventory.parse(Array(Self.hiveDocument.utf8), node: node, layout: layout)
        let stopped = try #require(snapshot.instances.last)
        #expect(stopped.id == "i-0ffee")
        #expect(stopped.state == .stopped)
        #expect(stopped.availabilityZone == "ap-southeast-2a")
        #expect(stopped.qmpSocket == "/run/user/0/qmp-i-0ffee.sock")
        #expect(stopped.telemetryQMPSocket == nil)
        #expect(stopped.pidFile == "/run/user/0/i-0ffee.pid")
        #expect(stopped.serialSocket == "/run/user/0/serial-i-0ffee.sock")
        #expect(stopped.consoleLogPath == "/run/user/0/console-i-0ffee.log")
        #expect(stopped.guestAgentSocket == "/run/user/0/qga-i-0ffee.sock")
        #expect(stopped.eniID == nil)
        #expect(stopped.privateIP == nil)
        #expect(stopped.volumes.isEmpty)
        #expect(stopped.labels.isEmpty)
        // +10:00 is ten hours ahead of UTC.
        #expect(stopped.launchTime == Date(timeIntervalSince1970: 1_772_600_767 - 36_000))
    }

    @Test("a bad VM record is skipped with a reason and the others are kept")
    func badRecordsSkipped() throws {
        let document = """
            {"vms": {
              "i-good": {"status": "running", "config": {"guest_agent_socket": "/qga/good.sock"}},
              "i-notobject": "running",
              "vm-1234": {"status": "running"},
              "i-badtype": {"status": "running", "config": {"qmp_socket": 42}},
              "i-badtime": {"status": "running", "instance": {"LaunchTime": "yesterday"}},
              "i-nostatus": {"config": {}},
              "i-badlabels": {"status": "running", "labels": {"a": 1}},
              "i-badvolumes": {"status": "running", "ebs_requests": {"Requests": [
                 {"Name": "vol-1", "NBDURI": "nbd:unix:/v1.sock"}, {"NBDURI": "nbd:unix:/v2.sock"}, null,
                 {"Name": "vol-3", "Boot": "yes"}, {"Name": "vol-1"}]}},
              "i-zerotime": {"status": "pending", "instance": {"LaunchTime": "0001-01-01T00:00:00Z"}}
            }}
            """
        let snapshot = FileInventory.parse(Array(document.utf8), node: node, layout: layout)
        #expect(snapshot.instances.map(\.id) == ["i-badvolumes", "i-good", "i-zerotime"])
        #expect(snapshot.instances.first { $0.id == "i-good" }?.guestAgentSocket == "/qga/good.sock")
        #expect(snapshot.instances.first { $0.id == "i-zerotime" }?.launchTime == nil)
        let volumes = try #require(snapshot.instances.first { $0.id == "i-badvolumes" }?.volumes)
        #expect(volumes.map(\.id) == ["vol-1"])

        var reasons: [String: String] = [:]
        for record in snapshot.skipped { reasons[record.id ?? "-"] = record.reason }
        #expect(reasons["i-notobject"]?.contains("must be an object") == true)
        #expect(reasons["vm-1234"]?.contains("not an instance id") == true)
        #expect(reasons["i-badtype"] == "config.qmp_socket: expected a string, found number")
        #expect(reasons["i-badtime"]?.contains("instance.LaunchTime") == true)
        #expect(reasons["i-nostatus"]?.contains("no status") == true)
        #expect(reasons["i-badlabels"] == "labels.a: expected a string, found number")
        #expect(reasons["i-badvolumes/volume[1]"]?.contains("no Name") == true)
        #expect(reasons["i-badvolumes/volume[2]"]?.contains("null") == true)
        #expect(reasons["i-badvolumes/volume[3]"]?.contains("Boot") == true)
        #expect(reasons["i-badvolumes/volume[4]"]?.contains("duplicate volume vol-1") == true)
        #expect(snapshot.skipped.count == 10)
    }

    @Test(
        "a document that is not an object makes snapshot() throw",
        arguments: ["[]", "\"vms\"", "null", "{\"vms\": []}"])
    func nonObjectDocument(text: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("instances.json", text)
        let source = FileInventory(path: path, node: node, layout: layout, logger: logger)
        let error = await #expect(throws: InventoryError.self) { try await source.snapshot() }
        #expect(error?.code == .invalidDocument)
        #expect(error?.message.contains(path) == true)
        // The non-throwing parser reports the same as one skipped record.
        let parsed = FileInventory.parse(Array(text.utf8), node: node, layout: layout)
        #expect(parsed.instances.isEmpty)
        #expect(parsed.skipped.count == 1 && parsed.skipped.first?.id == nil)
    }

    @Test("invalid JSON, a missing file and an oversized file are errors with the path")
    func unusableFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let broken = try directory.write("broken.json", "{\"vms\": {")
        let brokenError = await #expect(throws: InventoryError.self) {
            try await FileInventory(path: broken, node: node, layout: layout, logger: logger).snapshot()
        }
        #expect(brokenError?.code == .invalidDocument)

        let missing = directory.file("missing.json")
        let missingError = await #expect(throws: InventoryError.self) {
            try await FileInventory(path: missing, node: node, layout: layout, logger: logger).snapshot()
        }
        #expect(missingError?.code == .unreadable)
        #expect(missingError?.message.contains(missing) == true)

        let huge = directory.file("huge.json")
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: UInt64(FileInventory.maximumSize) + 1)
        try handle.close()
        let hugeError = await #expect(throws: InventoryError.self) {
            try await FileInventory(path: huge, node: node, layout: layout, logger: logger).snapshot()
        }
        #expect(hugeError?.code == .tooLarge)
    }

    @Test("a file source reads the document from disk; an empty or null vms is an empty inventory")
    func readsFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("instances.json", Self.hiveDocument)
        let snapshot = try await FileInventory(path: path, node: node, layout: layout, logger: logger).snapshot()
        #expect(snapshot.instances.count == 2)
        for empty in ["{}", "{\"vms\": null}", "{\"vms\": {}}"] {
            let emptyPath = try directory.write("empty.json", empty)
            let result = try await FileInventory(path: emptyPath, node: node, layout: layout, logger: logger).snapshot()
            #expect(result == InventorySnapshot())
        }
    }

    @Test("a single VM record (a stopped instance's KV value) parses on its own")
    func singleRecord() throws {
        let record = #"{"id": "i-0abc", "status": "stopped", "eni_id": "eni-9"}"#
        let instance = try FileInventory.parseInstance(Array(record.utf8), node: node, layout: layout).get()
        #expect(instance.id == "i-0abc")
        #expect(instance.state == .stopped)
        #expect(instance.eniID == "eni-9")
        let bad = FileInventory.parseInstance(Array(#"{"status": "running"}"#.utf8), node: node, layout: layout)
        #expect(throws: SkippedRecord.self) { try bad.get() }
    }

    @Test("read again: an unchanged document gives the same snapshot (from its digest), a same-size rewrite is read anew")
    func rereadSeesEveryChange() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        @discardableResult
        func write(_ state: String) throws -> String {
            try directory.write("vms.json", #"{"vms": {"i-0a": {"status": "\#(state)", "config": {}}}}"#)
        }
        let source = FileInventory(path: try write("running"), node: node, layout: layout, logger: logger)
        let first = try await source.snapshot()
        #expect(try await source.snapshot() == first)
        try write("stopped")  // as many bytes as "running"
        let second = try await source.snapshot()
        #expect(first.instances.map(\.state) == [.running])
        #expect(second.instances.map(\.state) == [.stopped])
        try write("running")
        #expect(try await source.snapshot() == first)
    }

    @Test("a file whose identity did not move is not read again; a rewrite is, even one that keeps the old time")
    func unchangedFileIsNotRead() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // An hour old: past the two seconds in which a file is read whatever its identity says.
        let old = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded())
        func write(_ state: String, aged: Bool) throws -> String {
            let path = try directory.write("vms.json", #"{"vms": {"i-0a": {"status": "\#(state)", "config": {}}}}"#)
            if aged { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path) }
            return path
        }
        let source = FileInventory(path: try write("running", aged: true), node: node, layout: layout, logger: logger)
        let first = try await source.snapshot()
        #expect(source.reads == 1)
        #expect(try await source.snapshot() == first)
        #expect(try await source.snapshot() == first)
        #expect(source.reads == 1, "an unchanged file must not be read again")
        // Same size, and aged again to the same modification time: its change time still moved.
        _ = try write("stopped", aged: true)
        let second = try await source.snapshot()
        #expect(second.instances.map(\.state) == [.stopped])
        #expect(source.reads == 2)
    }
}

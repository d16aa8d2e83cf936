import HealthCore
import HealthInventory
import Logging
import Testing

@Suite("InventorySpec")
struct InventorySpecTests {
    @Test("the three spellings parse")
    func valid() throws {
        #expect(try InventorySpec(parsing: "file:/etc/hive/instances.json") == .file(path: "/etc/hive/instances.json"))
        #expect(try InventorySpec(parsing: " qemu-scan ") == .qemuScan)
        #expect(try InventorySpec(parsing: "hive-kv") == .hiveKV)
        #expect(try InventorySpec(parsing: "file", defaultFilePath: "instances.json") == .file(path: "instances.json"))
        #expect(InventorySpec.file(path: "/x.json").description == "file:/x.json")
    }

    @Test("anything else is a clear error", arguments: ["", "file:", "file", "nats", "qemu", "kv:hive"])
    func invalid(text: String) {
        #expect {
            try InventorySpec(parsing: text)
        } throws: { error in
            guard let error = error as? InventoryError else { return false }
            return error.code == .invalidSpec && error.message.contains(text.isEmpty ? "\"\"" : text)
        }
    }

    @Test("local kinds build their source; hive-kv is left to the caller")
    func makeSource() {
        let node = NodeInfo(name: "node1")
        let layout = RuntimeLayout(directory: "/tmp")
        let logger = Logger(label: "test")
        #expect(InventorySpec.qemuScan.makeLocalSource(node: node, layout: layout, logger: logger) is QemuScanInventory)
        let file = InventorySpec.file(path: "/x.json").makeLocalSource(node: node, layout: layout, logger: logger)
        #expect((file as? FileInventory)?.path == "/x.json")
        #expect(InventorySpec.hiveKV.makeLocalSource(node: node, layout: layout, logger: logger) == nil)
    }

    @Test("the local node name is this host's name")
    func localNodeName() {
        let name = NodeInfo.localNodeName()
        #expect(!name.isEmpty)
        #expect(!name.contains("\0"))
    }
}

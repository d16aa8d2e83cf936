import HealthCore
import Testing

@Suite("Hive's VM record: the one parser, shared by the inventory and recovery")
struct HiveVMRecordTests {
    let node = NodeInfo(name: "node-a", region: "ap-southeast-2", availabilityZone: "ap-southeast-2a")
    let layout = RuntimeLayout(directory: "/rt")

    @Test("an instance has the guest agent checks when its record names a socket or the layout's socket is there")
    func guestAgentFromRecordOrProbe() throws {
        let document = """
            {"vms": {
              "i-named": {"id": "i-named", "status": "running", "config": {"guest_agent_socket": "/qga/n.sock"}},
              "i-found": {"id": "i-found", "status": "running"},
              "i-none": {"id": "i-none", "status": "running"}
            }}
            """
        var asked: [String] = []
        let snapshot = try HiveVMRecord.parseDocument(Array(document.utf8), node: node, layout: layout) { path in
            asked.append(path)
            return path == "/rt/qga-i-found.sock"
        }
        let agents = Dictionary(uniqueKeysWithValues: snapshot.instances.map { ($0.id, $0.hasGuestAgent) })
        #expect(agents == ["i-named": true, "i-found": true, "i-none": false])
        #expect(snapshot.instances.first { $0.id == "i-none" }?.guestAgentSocket == "/rt/qga-i-none.sock")
        #expect(asked.sorted() == ["/rt/qga-i-found.sock", "/rt/qga-i-none.sock"])
    }

    @Test("a document that is not an object throws; the non-throwing reader says why in one skipped record")
    func unusableDocument() {
        #expect(throws: HiveRecordError(.invalidDocument, "expected a JSON object {\"vms\": {...}}, found array")) {
            try HiveVMRecord.parseDocument(Array("[]".utf8), node: node, layout: layout) { _ in false }
        }
        let skipped = HiveVMRecord.parseDocumentOrSkip(Array("{".utf8), node: node, layout: layout) { _ in false }
        #expect(skipped.instances.isEmpty && skipped.skipped.count == 1 && skipped.skipped.first?.id == nil)
    }

    @Test("a record without an id, or with one that is not an instance id, is skipped with the reason")
    func badIdentity() {
        let noID = HiveVMRecord.parseInstance(Array(#"{"status": "running"}"#.utf8), node: node, layout: layout) {
            _ in false
        }
        #expect(throws: SkippedRecord(id: nil, reason: "VM record has no id")) { try noID.get() }
        let badID = HiveVMRecord.parseInstance(
            Array(#"{"id": "vm-1", "status": "running"}"#.utf8), node: node, layout: layout
        ) { _ in false }
        #expect(throws: SkippedRecord.self) { try badID.get() }
        #expect(InstanceID.isValid("i-0abc") && !InstanceID.isValid("i-") && !InstanceID.isValid("vm-1"))
    }
}

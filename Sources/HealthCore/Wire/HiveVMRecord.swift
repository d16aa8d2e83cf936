import Foundation

/// Why a Hive VM document cannot be read at all (a bad record is only skipped: ``SkippedRecord``).
public typealias HiveRecordError = CodedError<HiveRecordErrors>

/// The domain of ``HiveRecordError``.
public enum HiveRecordErrors: ErrorDomain {}

extension CodedError.Code where Domain == HiveRecordErrors {
    /// The document is larger than ``HiveVMRecord/maximumDocumentSize``.
    public static var tooLarge: Self { Self("too large") }
    /// The document is not JSON, or its top level (or `vms`) is not an object.
    public static var invalidDocument: Self { Self("invalid document") }
}

/// Hive's VM record (spinifex/vm/vm.go `VM`, DESIGN §5) and its document `{"vms": {"<id>": VM}}`: the one parser,
/// used by the inventory (file and KV) and by recovery. Unknown fields are ignored; a bad VM record is skipped with
/// a reason, never an error.
public enum HiveVMRecord {
    /// Documents larger than this are refused (Hive's documents are a few KiB per instance).
    public static let maximumDocumentSize = 64 * 1024 * 1024

    /// One VM record turned into an instance, and the volume requests of it that had to be left out.
    public struct Parsed: Sendable, Hashable {
        public var instance: InstanceInfo
        public var skippedVolumes: [SkippedRecord]
    }

    /// Parses Hive's VM JSON document, throwing when it is too large, not JSON, not an object, or its `vms` is not an
    /// object. A missing or null `vms` is an empty inventory (Hive writes that for a node without instances).
    ///
    /// - Parameter agentSocketExists: whether a guest agent socket exists at a path (Spinifex names none: an
    ///   instance has the agent checks when its record names a socket or the layout's one is there).
    public static func parseDocument(
        _ data: [UInt8], node: NodeInfo, layout: RuntimeLayout, agentSocketExists: (String) -> Bool
    ) throws(HiveRecordError) -> InventorySnapshot {
        guard data.count <= maximumDocumentSize else {
            throw HiveRecordError(.tooLarge, "document is larger than \(maximumDocumentSize) bytes")
        }
        let document = try decode(data)
        guard case .object = document else {
            throw HiveRecordError(
                .invalidDocument, "expected a JSON object {\"vms\": {...}}, found \(document.typeName)")
        }
        let records: [String: JSONValue]
        switch document["vms"] {
        case nil: records = [:]
        case .object(let members): records = members
        case let other?:
            throw HiveRecordError(.invalidDocument, "\"vms\" must be an object, found \(other.typeName)")
        }
        var snapshot = InventorySnapshot()
        var seen: Set<String> = []
        for key in records.keys.sorted() {
            let parsed = parse(
                records[key] ?? .null, key: key, node: node, layout: layout, agentSocketExists: agentSocketExists)
            switch parsed {
            case .success(let parsed):
                guard seen.insert(parsed.instance.id).inserted else {
                    let reason = "duplicate instance id \(parsed.instance.id)"
                    snapshot.skipped.append(SkippedRecord(id: key, reason: reason))
                    continue
                }
                snapshot.instances.append(parsed.instance)
                snapshot.skipped += parsed.skippedVolumes
            case .failure(let skipped):
                snapshot.skipped.append(skipped)
            }
        }
        snapshot.instances.sort { $0.id < $1.id }
        return snapshot
    }

    /// Parses Hive's VM JSON document; never throws: a document that is unusable as a whole comes back as an empty
    /// snapshot with one skipped record (id nil) saying why.
    public static func parseDocumentOrSkip(
        _ data: [UInt8], node: NodeInfo, layout: RuntimeLayout, agentSocketExists: (String) -> Bool
    ) -> InventorySnapshot {
        do {
            return try parseDocument(data, node: node, layout: layout, agentSocketExists: agentSocketExists)
        } catch {
            return InventorySnapshot(instances: [], skipped: [SkippedRecord(id: nil, reason: error.message)])
        }
    }

    /// Parses one VM record on its own, e.g. the KV value of a stopped instance (`instance.<id>`).
    public static func parseInstance(
        _ data: [UInt8], node: NodeInfo, layout: RuntimeLayout, agentSocketExists: (String) -> Bool
    ) -> Result<InstanceInfo, SkippedRecord> {
        let value: JSONValue
        do {
            value = try decode(data)
        } catch {
            return .failure(SkippedRecord(id: nil, reason: error.message))
        }
        return parse(value, key: nil, node: node, layout: layout, agentSocketExists: agentSocketExists)
            .map(\.instance)
    }

    static func decode(_ data: [UInt8]) throws(HiveRecordError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(data))
        } catch {
            throw HiveRecordError(.invalidDocument, "not valid JSON: \(summary(of: error))")
        }
    }

    private static func summary(of error: any Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case .dataCorrupted(let context): return context.debugDescription
            default: break
            }
        }
        return "\(error)"
    }

    /// Reads one VM record; `key` is its key in the `vms` map, the fallback for a missing `id`.
    public static func parse(
        _ record: JSONValue, key: String?, node: NodeInfo, layout: RuntimeLayout, agentSocketExists: (String) -> Bool
    ) -> Result<Parsed, SkippedRecord> {
        guard case .object = record else {
            return .failure(SkippedRecord(id: key, reason: "VM record must be an object, found \(record.typeName)"))
        }
        let vm = FieldReader(record, path: "")
        do {
            guard let id = try vm.field("id").nonEmptyString() ?? key else {
                return .failure(SkippedRecord(id: nil, reason: "VM record has no id"))
            }
            guard InstanceID.isValid(id) else {
                let reason = "\"\(id)\" is not an instance id (i- and letters/digits)"
                return .failure(SkippedRecord(id: id, reason: reason))
            }
            guard let status = try vm.field("status").nonEmptyString() else {
                return .failure(SkippedRecord(id: id, reason: "VM record has no status"))
            }
            let config = vm.field("config")
            _ = try config.object()
            let ec2 = vm.field("instance")
            _ = try ec2.object()

            var instance = InstanceInfo(id: id, state: InstanceState(rawValue: status), node: node.name)
            instance.availabilityZone =
                try ec2.field("Placement").field("AvailabilityZone").nonEmptyString() ?? node.availabilityZone
            instance.launchTime = try launchTime(ec2.field("LaunchTime"))
            instance.qmpSocket = try config.field("qmp_socket").nonEmptyString() ?? layout.qmpSocket(for: id)
            instance.telemetryQMPSocket = try config.field("telemetry_qmp_socket").nonEmptyString()
            let namedAgent = try config.field("guest_agent_socket").nonEmptyString()
            instance.guestAgentSocket = namedAgent ?? layout.guestAgentSocket(for: id)
            // Spinifex gives VMs no agent channel: the agent checks run only where one is named or present.
            instance.hasGuestAgent = namedAgent != nil || agentSocketExists(layout.guestAgentSocket(for: id))
            instance.pidFile = try config.field("pid_file").nonEmptyString() ?? layout.pidFile(for: id)
            instance.serialSocket = try config.field("serial_socket").nonEmptyString() ?? layout.serialSocket(for: id)
            instance.consoleLogPath =
                try config.field("console_log_path").nonEmptyString() ?? layout.consoleLog(for: id)
            instance.accountID = try vm.field("account_id").nonEmptyString()
            instance.eniID = try vm.field("eni_id").nonEmptyString()
            instance.eniMAC = try vm.field("eni_mac").nonEmptyString()
            instance.extraENIs = try extraENIs(vm.field("extra_enis"))
            // Spinifex's own view is extra information: a block that cannot be read is left out, the VM kept.
            instance.hiveHealth = try? hiveHealth(vm.field("health"))
            // A stopped record (`instance.<id>`) belongs where it last ran.
            if instance.state != .running, let last = try vm.field("last_node").nonEmptyString() {
                instance.node = last
            }
            instance.privateIP = try ec2.field("PrivateIpAddress").nonEmptyString()
            instance.labels = try labels(vm, ec2: ec2)

            let (volumes, skipped) = try volumes(vm.field("ebs_requests"), instanceID: id)
            instance.volumes = volumes
            return .success(Parsed(instance: instance, skippedVolumes: skipped))
        } catch let error as FieldError {
            return .failure(SkippedRecord(id: key ?? (try? vm.field("id").string()), reason: error.reason))
        } catch {
            return .failure(SkippedRecord(id: key, reason: "\(error)"))
        }
    }

    /// Go writes an unset `time.Time` as year 1; that is no launch time.
    private static func launchTime(_ field: FieldReader) throws -> Date? {
        guard let text = try field.nonEmptyString() else { return nil }
        guard let date = RFC3339.parse(text) else {
            throw FieldError(path: field.path, message: "\"\(text)\" is not an RFC 3339 time")
        }
        return date.timeIntervalSince1970 < -62_000_000_000 ? nil : date
    }

    /// Spinifex's `health` block (vm.go `InstanceHealthState`); nil when the record has none.
    private static func hiveHealth(_ field: FieldReader) throws -> InstanceInfo.HiveVMHealth? {
        guard try field.object() != nil else { return nil }
        func count(_ key: String) throws -> Int {
            guard let number = try field.field(key).number(), number >= 0, number < 1e9 else { return 0 }
            return Int(number)
        }
        return InstanceInfo.HiveVMHealth(
            qmpConsecutiveFailures: try count("qmp_consecutive_failures"),
            lastQMPSuccess: try launchTime(field.field("last_qmp_success")),
            impairedSince: try launchTime(field.field("impaired_since")),
            crashCount: try count("crash_count"), lastCrashTime: try launchTime(field.field("last_crash_time")),
            lastCrashReason: try field.field("last_crash_reason").nonEmptyString(),
            restartCount: try count("restart_count"))
    }

    /// Spinifex's `extra_enis[]` (vm.go `ExtraENI`: `eni_id`, `eni_mac`, `eni_ip`); nil when there are none.
    private static func extraENIs(_ field: FieldReader) throws -> [InstanceInfo.ExtraENI]? {
        var enis: [InstanceInfo.ExtraENI] = []
        for (index, item) in (try field.array() ?? []).enumerated() {
            let entry = FieldReader(item, path: "\(field.path)[\(index)]")
            _ = try entry.object()
            guard let id = try entry.field("eni_id").nonEmptyString() else { continue }
            enis.append(
                InstanceInfo.ExtraENI(
                    eniID: id, eniMAC: try entry.field("eni_mac").nonEmptyString(),
                    eniIP: try entry.field("eni_ip").nonEmptyString()))
        }
        return enis.isEmpty ? nil : enis
    }

    /// AWS-style `instance.Tags[]`, then `tags`, then `labels`: later ones win on the same key.
    private static func labels(_ vm: FieldReader, ec2: FieldReader) throws -> [String: String] {
        var labels: [String: String] = [:]
        for (index, tag) in (try ec2.field("Tags").array() ?? []).enumerated() {
            let entry = FieldReader(tag, path: "\(ec2.path).Tags[\(index)]")
            _ = try entry.object()
            guard let key = try entry.field("Key").nonEmptyString() else { continue }
            labels[key] = try entry.field("Value").string() ?? ""
        }
        labels.merge(try vm.field("tags").stringMap() ?? [:]) { _, new in new }
        labels.merge(try vm.field("labels").stringMap() ?? [:]) { _, new in new }
        return labels
    }

    /// `ebs_requests.Requests[]`; a request without a volume id is left out with a reason, the instance is kept.
    private static func volumes(
        _ requests: FieldReader, instanceID: String
    ) throws -> ([VolumeInfo], [SkippedRecord]) {
        _ = try requests.object()
        var volumes: [VolumeInfo] = []
        var skipped: [SkippedRecord] = []
        var seen: Set<String> = []
        for (index, item) in (try requests.field("Requests").array() ?? []).enumerated() {
            let request = FieldReader(item, path: "\(requests.path).Requests[\(index)]")
            let recordID = "\(instanceID)/volume[\(index)]"
            do {
                guard try request.object() != nil else {
                    skipped.append(SkippedRecord(id: recordID, reason: "volume request is null"))
                    continue
                }
                guard let name = try request.field("Name").nonEmptyString() else {
                    skipped.append(SkippedRecord(id: recordID, reason: "volume request has no Name (volume id)"))
                    continue
                }
                guard seen.insert(name).inserted else {
                    skipped.append(SkippedRecord(id: recordID, reason: "duplicate volume \(name)"))
                    continue
                }
                volumes.append(
                    VolumeInfo(
                        id: name,
                        nbdURI: try request.field("NBDURI").string() ?? "",
                        deviceName: try request.field("DeviceName").string() ?? "",
                        boot: try request.field("Boot").bool() ?? false))
            } catch let error as FieldError {
                skipped.append(SkippedRecord(id: recordID, reason: error.reason))
            }
        }
        return (volumes, skipped)
    }
}

import Foundation
import HealthCore

extension FileInventory {
    /// One VM record turned into an instance, and the volume requests of it that had to be left out.
    struct ParsedVM {
        var instance: InstanceInfo
        var skippedVolumes: [SkippedRecord]
    }

    /// Reads one VM record (DESIGN §5); `key` is its key in the `vms` map, the fallback for a missing `id`.
    static func parseVM(
        _ record: JSONValue, key: String?, node: NodeInfo, layout: RuntimeLayout
    ) -> Result<ParsedVM, SkippedRecord> {
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
            instance.hasGuestAgent =
                namedAgent != nil || FileManager.default.fileExists(atPath: layout.guestAgentSocket(for: id))
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
            return .success(ParsedVM(instance: instance, skippedVolumes: skipped))
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

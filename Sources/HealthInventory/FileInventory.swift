import Foundation
import HealthCore
import HealthIO
import Logging
import Synchronization

/// The `file` inventory source: Hive's VM JSON document `{"vms": {"<id>": VM}}` read from a file.
///
/// It is the same document Hive stores in the `hive-instance-state` KV bucket under `node.<node>`, so
/// ``parse(_:node:layout:)`` is shared with the KV source. Unknown fields are ignored; a bad VM record is skipped
/// with a reason; a missing file or a document that is not a JSON object makes ``snapshot()`` throw.
public struct FileInventory: InventorySource {
    /// Documents larger than this are refused (Hive's documents are a few KiB per instance).
    public static let maximumSize = 64 * 1024 * 1024

    public let path: String
    public let node: NodeInfo
    public let layout: RuntimeLayout
    private let logger: Logger
    private let lastRead = LastRead()

    /// The last document's digest and what it gave: a document read again unchanged (the daemon reads every 10 s,
    /// and 10,000 instances are megabytes of JSON) is hashed, not parsed again.
    private final class LastRead: Sendable {
        struct Entry {
            var count: Int
            var digest: Int
            var snapshot: InventorySnapshot
        }
        let entry = Mutex<Entry?>(nil)
    }

    public init(path: String, node: NodeInfo, layout: RuntimeLayout, logger: Logger) {
        self.path = path
        self.node = node
        self.layout = layout
        self.logger = logger
    }

    public func snapshot() async throws -> InventorySnapshot {
        let bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path, limit: Self.maximumSize)
        } catch {
            throw InventoryError(error.code == .tooLarge ? .tooLarge : .unreadable, error.message)
        }
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        let digest = hasher.finalize()
        if let last = lastRead.entry.withLock({ $0 }), last.count == bytes.count, last.digest == digest {
            return last.snapshot
        }
        let snapshot: InventorySnapshot
        do {
            snapshot = try Self.parseDocument(bytes, node: node, layout: layout)
        } catch var error {
            error.message = "\(path): \(error.message)"
            throw error
        }
        for record in snapshot.skipped {
            logger.warning(
                "inventory record skipped",
                metadata: ["file": "\(path)", "record": "\(record.id ?? "-")", "reason": "\(record.reason)"])
        }
        logger.debug("inventory read", metadata: ["file": "\(path)", "instances": "\(snapshot.instances.count)"])
        lastRead.entry.withLock { $0 = LastRead.Entry(count: bytes.count, digest: digest, snapshot: snapshot) }
        return snapshot
    }
}

extension FileInventory {
    /// Parses Hive's VM JSON document; never throws: a document that is unusable as a whole comes back as an empty
    /// snapshot with one skipped record (id nil) saying why.
    public static func parse(_ data: [UInt8], node: NodeInfo, layout: RuntimeLayout) -> InventorySnapshot {
        do {
            return try parseDocument(data, node: node, layout: layout)
        } catch {
            return InventorySnapshot(instances: [], skipped: [SkippedRecord(id: nil, reason: error.message)])
        }
    }

    /// Parses Hive's VM JSON document, throwing when it is not JSON, not an object, or its `vms` is not an object.
    /// A missing or null `vms` is an empty inventory (Hive writes that for a node without instances).
    public static func parseDocument(
        _ data: [UInt8], node: NodeInfo, layout: RuntimeLayout
    ) throws(InventoryError) -> InventorySnapshot {
        guard data.count <= maximumSize else {
            throw InventoryError(.tooLarge, "document is larger than \(maximumSize) bytes")
        }
        let document = try decode(data)
        guard case .object = document else {
            throw InventoryError(
                .invalidDocument, "expected a JSON object {\"vms\": {...}}, found \(document.typeName)")
        }
        let records: [String: JSONValue]
        switch document["vms"] {
        case nil: records = [:]
        case .object(let members): records = members
        case let other?: throw InventoryError(.invalidDocument, "\"vms\" must be an object, found \(other.typeName)")
        }
        var snapshot = InventorySnapshot()
        var seen: Set<String> = []
        for key in records.keys.sorted() {
            switch parseVM(records[key] ?? .null, key: key, node: node, layout: layout) {
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

    /// Parses one VM record on its own, e.g. the KV value of a stopped instance (`instance.<id>`).
    public static func parseInstance(
        _ data: [UInt8], node: NodeInfo, layout: RuntimeLayout
    ) -> Result<InstanceInfo, SkippedRecord> {
        let value: JSONValue
        do {
            value = try decode(data)
        } catch {
            return .failure(SkippedRecord(id: nil, reason: error.message))
        }
        return parseVM(value, key: nil, node: node, layout: layout).map(\.instance)
    }

    static func decode(_ data: [UInt8]) throws(InventoryError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(data))
        } catch {
            throw InventoryError(.invalidDocument, "not valid JSON: \(Self.summary(of: error))")
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
}

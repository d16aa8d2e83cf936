import Foundation
import HealthCore
import HealthIO
import Logging
import Synchronization

/// The `file` inventory source: Hive's VM JSON document `{"vms": {"<id>": VM}}` read from a file.
///
/// It is the same document Hive stores in the `hive-instance-state` KV bucket under `node.<node>`, read by the one
/// parser of Hive's VM records (``HealthCore/HiveVMRecord``, shared with the KV source and recovery). Unknown fields
/// are ignored; a bad VM record is skipped with a reason; a missing file or a document that is not a JSON object
/// makes ``snapshot()`` throw.
public struct FileInventory: InventorySource {
    /// Documents larger than this are refused (Hive's documents are a few KiB per instance).
    public static let maximumSize = HiveVMRecord.maximumDocumentSize

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
    /// Parses Hive's VM JSON document with ``HealthCore/HiveVMRecord``, looking for guest agent sockets on this host.
    public static func parseDocument(
        _ data: [UInt8], node: NodeInfo, layout: RuntimeLayout
    ) throws(InventoryError) -> InventorySnapshot {
        do {
            return try HiveVMRecord.parseDocument(data, node: node, layout: layout, agentSocketExists: socketExists)
        } catch {
            throw InventoryError(error.code == .tooLarge ? .tooLarge : .invalidDocument, error.message)
        }
    }

    /// Parses Hive's VM JSON document; never throws: a document that is unusable as a whole comes back as an empty
    /// snapshot with one skipped record (id nil) saying why.
    public static func parse(_ data: [UInt8], node: NodeInfo, layout: RuntimeLayout) -> InventorySnapshot {
        HiveVMRecord.parseDocumentOrSkip(data, node: node, layout: layout, agentSocketExists: socketExists)
    }

    /// Parses one VM record on its own, e.g. the KV value of a stopped instance (`instance.<id>`).
    public static func parseInstance(
        _ data: [UInt8], node: NodeInfo, layout: RuntimeLayout
    ) -> Result<InstanceInfo, SkippedRecord> {
        HiveVMRecord.parseInstance(data, node: node, layout: layout, agentSocketExists: socketExists)
    }

    private static func socketExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}

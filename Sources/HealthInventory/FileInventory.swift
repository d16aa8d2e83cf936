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

    /// The last document's file identity, digest and what it gave: a file whose identity (device, inode, size,
    /// modification and change times) did not move is not read again (the daemon looks every 10 s, and 10,000
    /// instances are megabytes of JSON); one rewritten with the same bytes is hashed, not parsed again.
    private final class LastRead: Sendable {
        struct Entry {
            var identity: FileIdentity?
            var count: Int
            var digest: Int
            var snapshot: InventorySnapshot
        }
        let entry = Mutex<Entry?>(nil)
        let reads = Atomic<Int>(0)
    }

    /// How many times the file was read (tests: an unchanged file is not).
    public var reads: Int { lastRead.reads.load(ordering: .relaxed) }

    public init(path: String, node: NodeInfo, layout: RuntimeLayout, logger: Logger) {
        self.path = path
        self.node = node
        self.layout = layout
        self.logger = logger
    }

    public func snapshot() async throws -> InventorySnapshot {
        // A file modified in the last two seconds is read anyway: a same-size rewrite within the file system's
        // timestamp granularity (a few milliseconds) would otherwise look unchanged.
        let identity = FileIdentity(path: path).flatMap { $0.modifiedBefore(Date().addingTimeInterval(-2)) ? $0 : nil }
        if let identity, let last = lastRead.entry.withLock({ $0 }), last.identity == identity { return last.snapshot }
        lastRead.reads.add(1, ordering: .relaxed)
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
            lastRead.entry.withLock { $0?.identity = identity }
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
        lastRead.entry.withLock {
            $0 = LastRead.Entry(identity: identity, count: bytes.count, digest: digest, snapshot: snapshot)
        }
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

/// What `stat(2)` says of a file that changes whenever its content may have: taken before reading, so a write during
/// the read makes the next look read again.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: (seconds: Int, nanoseconds: Int)
    var changed: (seconds: Int, nanoseconds: Int)

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = (info.st_mtim.tv_sec, info.st_mtim.tv_nsec)
        changed = (info.st_ctim.tv_sec, info.st_ctim.tv_nsec)
    }

    func modifiedBefore(_ date: Date) -> Bool {
        Double(modified.seconds) + Double(modified.nanoseconds) / 1e9 < date.timeIntervalSince1970
    }

    static func == (a: FileIdentity, b: FileIdentity) -> Bool {
        a.device == b.device && a.inode == b.inode && a.size == b.size && a.modified == b.modified
            && a.changed == b.changed
    }
}

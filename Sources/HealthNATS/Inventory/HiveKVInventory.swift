import HealthCore
import HealthInventory
import Logging
import Synchronization

/// The `hive-kv` inventory source: Hive's VM records in the KV bucket `<prefix>-instance-state`, key `node.<node>`
/// (`{"vms": {"<id>": VM}}`, parsed exactly like the `file` source).
///
/// Each snapshot reads the key afresh, so instances Hive adds or removes join or leave the plan at the next
/// inventory refresh. A missing key is a node without instances; a record that cannot be used is skipped with its
/// reason; NATS being unreachable or the bucket missing throws (the planner then keeps its last snapshot).
public final class HiveKVInventory: InventorySource {
    public let connection: NATSConnection
    public let bucketName: String
    public let node: NodeInfo
    public let layout: RuntimeLayout
    private let bucket = Mutex<NATSKeyValue?>(nil)
    private let logger: Logger

    public init(
        connection: NATSConnection, subjects: HealthSubjects, node: NodeInfo, layout: RuntimeLayout, logger: Logger
    ) {
        self.connection = connection
        self.bucketName = subjects.instanceStateBucket
        self.node = node
        self.layout = layout
        self.logger = logger
    }

    /// `node.<node>`.
    public var key: String { "node.\(node.name)" }

    public func snapshot() async throws -> InventorySnapshot {
        guard let entry = try await openBucket().get(key) else { return InventorySnapshot() }
        return FileInventory.parse(entry.value, node: node, layout: layout)
    }

    /// Calls `changed` each time Hive writes or deletes this node's key, until the task is cancelled; a watch that
    /// ends (NATS down, bucket missing) is started again after a second. The caller then takes a snapshot, so
    /// instances join and leave the plan at once instead of at the next periodic refresh.
    public func watchChanges(_ changed: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            if let watch = try? await openBucket().watch(key) {
                await withTaskCancellationHandler {
                    for await change in watch {
                        if case .caughtUp = change { continue }
                        await changed()
                    }
                } onCancel: {
                    watch.stop()
                }
            }
            guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
        }
    }

    private func openBucket() async throws(NATSError) -> NATSKeyValue {
        let bucket: NATSKeyValue
        if let opened = self.bucket.withLock({ $0 }) {
            bucket = opened
        } else {
            bucket = try await connection.keyValue(bucketName)
            self.bucket.withLock { $0 = bucket }
        }
        return bucket
    }
}

import HealthCore
import HealthInventory
import Logging
import Synchronization

/// The `hive-kv` inventory source: Hive's VM records in the KV bucket `<prefix>-instance-state`, key `node.<node>`
/// (`{"vms": {"<id>": VM}}`, parsed exactly like the `file` source), and the stopped instances that last ran here
/// (`instance.<id>` with `last_node` = this node, spinifex/daemon/jetstream.go `StoppedInstancePrefix`): they are
/// listed as stopped (not-applicable, shown by DescribeInstanceStatus with IncludeAllInstances).
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
        let bucket = try await openBucket()
        var snapshot = InventorySnapshot()
        if let entry = try await bucket.get(key) {
            snapshot = FileInventory.parse(entry.value, node: node, layout: layout)
        }
        let running = Set(snapshot.instances.map(\.id))
        let stopped = try await bucket.entries(matching: "instance.*", timeout: .seconds(5))
        for (key, entry) in stopped.sorted(by: { $0.key < $1.key }) {
            switch FileInventory.parseInstance(entry.value, node: node, layout: layout) {
            case .success(let instance):
                // Only where it last ran (each node lists its own); a running record wins over a leftover.
                guard instance.node == node.name, instance.state != .running, !running.contains(instance.id)
                else { continue }
                snapshot.instances.append(instance)
            case .failure(var skipped):
                skipped.id = skipped.id ?? String(key.dropFirst("instance.".count))
                snapshot.skipped.append(skipped)
            }
        }
        return snapshot
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

import HealthCore
import Logging

/// The `hive-kv` inventory source: Hive's VM records in the KV bucket `<prefix>-instance-state`, key `node.<node>`
/// (`{"vms": {"<id>": VM}}`, parsed exactly like the `file` source), and the stopped instances that last ran here
/// (`instance.<id>` with `last_node` = this node, spinifex/daemon/jetstream.go `StoppedInstancePrefix`): they are
/// listed as stopped (not-applicable, shown by DescribeInstanceStatus with IncludeAllInstances).
///
/// Each snapshot reads the key afresh, so instances Hive adds or removes join or leave the plan at the next
/// inventory refresh. A missing key is a node without instances; a record that cannot be used is skipped with its
/// reason; the store being unreachable or the bucket missing throws (the planner then keeps its last snapshot).
/// The records are read through a ``KeyValueBrowser`` (JetStream KV in the daemon), so this module knows no NATS.
public final class HiveKVInventory: InventorySource {
    public let keyValues: any KeyValueBrowser
    /// `<prefix>-instance-state`.
    public let bucketName: String
    public let node: NodeInfo
    public let layout: RuntimeLayout
    private let logger: Logger

    public init(
        keyValues: any KeyValueBrowser, bucket: String, node: NodeInfo, layout: RuntimeLayout, logger: Logger
    ) {
        self.keyValues = keyValues
        self.bucketName = bucket
        self.node = node
        self.layout = layout
        self.logger = logger
    }

    /// `node.<node>`.
    public var key: String { "node.\(node.name)" }

    public func snapshot() async throws -> InventorySnapshot {
        var snapshot = InventorySnapshot()
        if let value = try await keyValues.value(bucket: bucketName, key: key) {
            snapshot = FileInventory.parse(value, node: node, layout: layout)
        }
        let running = Set(snapshot.instances.map(\.id))
        let stopped = try await keyValues.values(bucket: bucketName, matching: "instance.*", timeout: .seconds(5))
        for (key, value) in stopped.sorted(by: { $0.key < $1.key }) {
            switch FileInventory.parseInstance(value, node: node, layout: layout) {
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
            try? await keyValues.watch(bucket: bucketName, key: key, changed: changed)
            guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
        }
    }
}

import HealthCore

/// Where the instances of this node come from: Hive's VM JSON (file or KV) or a scan of QEMU processes.
///
/// - Important: A bad record is not an error: it is left out and listed in ``InventorySnapshot/skipped`` with a
///   reason, and every other record is still returned. Throw only when the whole source is unusable (missing or
///   unreadable file, a document that is not a JSON object).
public protocol InventorySource: Sendable {
    /// The instances known right now.
    func snapshot() async throws -> InventorySnapshot
}

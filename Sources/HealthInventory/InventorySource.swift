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

/// The instances a source knows at one moment, and the records it had to leave out.
public struct InventorySnapshot: Sendable, Hashable {
    /// Sorted by instance id.
    public var instances: [InstanceInfo]
    /// Records that could not be used, each with the reason.
    public var skipped: [SkippedRecord]

    public init(instances: [InstanceInfo] = [], skipped: [SkippedRecord] = []) {
        self.instances = instances
        self.skipped = skipped
    }
}

/// One record an inventory source left out, and why.
public struct SkippedRecord: Error, Sendable, Hashable, CustomStringConvertible {
    /// The record's id or key when it had one (`i-...`, `i-.../volume[2]`, `pid 1234`).
    public var id: String?
    public var reason: String

    public init(id: String?, reason: String) {
        self.id = id
        self.reason = reason
    }

    public var description: String { (id.map { "\($0): " } ?? "") + reason }
}

/// Instance ids as EC2 spells them: `i-` followed by letters and digits.
enum InstanceID {
    static func isValid(_ id: String) -> Bool {
        guard id.hasPrefix("i-"), id.utf8.count > 2, id.utf8.count <= 64 else { return false }
        return id.dropFirst(2).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
}

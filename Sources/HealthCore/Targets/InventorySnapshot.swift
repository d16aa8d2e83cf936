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
public enum InstanceID {
    /// Whether `id` is `i-` and 1 to 62 ASCII letters and digits.
    public static func isValid(_ id: String) -> Bool {
        guard id.hasPrefix("i-"), id.utf8.count > 2, id.utf8.count <= 64 else { return false }
        return id.dropFirst(2).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
}

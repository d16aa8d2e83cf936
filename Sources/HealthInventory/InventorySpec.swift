import Foundation
import HealthCore
import Logging

/// Which inventory source to use, as `--inventory` and `[health.inventory] source` spell it:
/// `file:PATH`, `qemu-scan` or `hive-kv`.
public enum InventorySpec: Sendable, Hashable, CustomStringConvertible {
    /// Hive's VM JSON document in a file.
    case file(path: String)
    /// The running QEMU processes.
    case qemuScan
    /// Hive's `hive-instance-state` KV bucket (built by the NATS module).
    case hiveKV

    /// Parses a specification; `file` without a path uses `defaultFilePath` when the caller has one.
    public init(parsing text: String, defaultFilePath: String? = nil) throws(InventoryError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed.lowercased() {
        case "qemu-scan": self = .qemuScan
        case "hive-kv": self = .hiveKV
        case "file":
            guard let defaultFilePath, !defaultFilePath.isEmpty else {
                throw InventoryError(.invalidSpec, "\"file\" needs a path: file:PATH")
            }
            self = .file(path: defaultFilePath)
        default:
            guard trimmed.lowercased().hasPrefix("file:") else {
                throw InventoryError(
                    .invalidSpec, "unknown inventory source \"\(text)\" (expected file:PATH, qemu-scan or hive-kv)")
            }
            let path = String(trimmed.dropFirst("file:".count))
            guard !path.isEmpty else { throw InventoryError(.invalidSpec, "\"file:\" needs a path: file:PATH") }
            self = .file(path: path)
        }
    }

    public var description: String {
        switch self {
        case .file(let path): "file:\(path)"
        case .qemuScan: "qemu-scan"
        case .hiveKV: "hive-kv"
        }
    }

    /// The source for the local kinds; nil for ``hiveKV``, which the caller builds with its NATS connection.
    public func makeLocalSource(node: NodeInfo, layout: RuntimeLayout, logger: Logger) -> (any InventorySource)? {
        switch self {
        case .file(let path): FileInventory(path: path, node: node, layout: layout, logger: logger)
        case .qemuScan: QemuScanInventory(node: node, layout: layout, logger: logger)
        case .hiveKV: nil
        }
    }
}

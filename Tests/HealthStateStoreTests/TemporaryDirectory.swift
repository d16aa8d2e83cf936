import Foundation

/// A fresh directory per test, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        let name = "health-store-\(UUID().uuidString)"
        path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

import Foundation
import HealthCore

extension RuntimeLayout {
    /// Applies Spinifex's rule to this process's environment, home directory and file system.
    public static func current(configured: String? = nil) -> RuntimeLayout {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"] ?? NSHomeDirectory()
        return resolve(configured: configured, environment: environment, home: home) { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }
}

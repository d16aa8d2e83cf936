import Foundation
import HealthCatalogue

/// The last local catalogue that loaded without an error, kept in the state directory (`catalogue.last-good/`), so
/// a daemon restarted on a broken checks.d runs the checks it ran before instead of none.
///
/// Written only when a catalogue loads cleanly and its content changed; replaced by a rename, so a crash mid-write
/// leaves the previous copy.
public struct LastGoodCatalogue: Sendable {
    /// The folder holding the copy (a checks.d layout: `*.yaml` and `environments/*.yaml`).
    public let directory: String

    public init(stateDirectory: String) {
        directory = (stateDirectory.hasSuffix("/") ? String(stateDirectory.dropLast()) : stateDirectory)
            + "/catalogue.last-good"
    }

    /// The copy, or nil when there is none (or it cannot be read).
    public func load() -> CatalogueBundle? {
        guard FileManager.default.fileExists(atPath: directory) else { return nil }
        guard let bundle = try? CatalogueBundle.read(directory: directory), !bundle.files.isEmpty else { return nil }
        return bundle
    }

    /// Replaces the copy with `bundle` when its content differs.
    public func save(_ bundle: CatalogueBundle) throws {
        if let current = load(), current.sha256 == bundle.sha256 { return }
        let manager = FileManager.default
        let parent = (directory as NSString).deletingLastPathComponent
        try manager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let staging = directory + ".new-\(getpid())"
        try? manager.removeItem(atPath: staging)
        try bundle.write(to: staging)
        let previous = directory + ".old-\(getpid())"
        if manager.fileExists(atPath: directory) { try manager.moveItem(atPath: directory, toPath: previous) }
        try manager.moveItem(atPath: staging, toPath: directory)
        try? manager.removeItem(atPath: previous)
    }
}

/// What `hive-health run` starts on: the catalogue as it loads, or the last good copy when it does not.
public enum StartingCatalogue: Sendable {
    /// The configured catalogue loads without an error.
    case loads
    /// It does not; the daemon runs the last good copy (at `directory`) and reports these errors.
    case lastGood(directory: String, errors: [CatalogueError])
    /// It does not and there is no good copy to fall back on: the daemon must not start.
    case refused(errors: [CatalogueError])
}

extension DaemonSetup {
    /// The last good copy of this node's local catalogue.
    public var lastGoodCatalogue: LastGoodCatalogue { LastGoodCatalogue(stateDirectory: stateDirectory) }

    /// Whether the daemon can start: the catalogue loads, or a last good copy that loads exists.
    public func startingCatalogue() -> StartingCatalogue {
        let result = loadCatalogue()
        guard !result.errors.isEmpty else { return .loads }
        let fallback = lastGoodCatalogue
        if let bundle = fallback.load(),
            bundle.load(with: catalogueLoader, environment: environment, origin: fallback.directory).errors.isEmpty
        {
            return .lastGood(directory: fallback.directory, errors: result.errors)
        }
        return .refused(errors: result.errors)
    }
}

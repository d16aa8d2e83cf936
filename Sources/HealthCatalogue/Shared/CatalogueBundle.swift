import Foundation
import HealthCore

/// A catalogue as files in memory: what `catalog push` reads from a folder, stores in the shared catalogue bucket,
/// and what `catalog pull` writes back. Names are relative to checks.d (`10-host.yaml`, `environments/prod.yaml`).
public struct CatalogueBundle: Sendable, Hashable {
    /// File name -> its text.
    public var files: [String: String]

    public init(files: [String: String]) { self.files = files }

    /// Bytes one bundle may hold in all (the KV value limit of the catalogue bucket is a little above).
    public static let sizeLimit = 900 * 1024
    /// Files one bundle may hold.
    public static let fileLimit = 1_000

    /// The content hash: SHA-256 over every file sorted by name, each as `name \n byte-count \n text`.
    public var sha256: String {
        var bytes: [UInt8] = []
        for name in files.keys.sorted() {
            let text = Array(files[name, default: ""].utf8)
            bytes += Array("\(name)\n\(text.count)\n".utf8)
            bytes += text
        }
        return SHA256Digest.hex(bytes)
    }

    /// Check files (top level), sorted.
    public var checkFileNames: [String] { files.keys.filter { !$0.contains("/") }.sorted() }
    /// Overlay files (`environments/...`), sorted.
    public var environmentFileNames: [String] { files.keys.filter { $0.hasPrefix(Self.environmentsPrefix) }.sorted() }
    /// The overlay names (`prod` for `environments/prod.yaml`).
    public var environmentNames: [String] {
        environmentFileNames.map { name in
            let base = String(name.dropFirst(Self.environmentsPrefix.count))
            for suffix in [".yaml", ".yml"] where base.hasSuffix(suffix) { return String(base.dropLast(suffix.count)) }
            return base
        }
    }

    static let environmentsPrefix = "environments/"

    /// Whether `name` may be a file of a bundle: `X.yaml` or `environments/X.yaml`, no other folders, no dot files.
    public static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || (parts.count == 2 && parts[0] == "environments") else { return false }
        guard let base = parts.last, !base.hasPrefix("."), base.count <= 255 else { return false }
        return base.hasSuffix(".yaml") || base.hasSuffix(".yml")
    }

    /// Reads `directory` the way the loader does: `*.yaml`/`*.yml` at the top and in `environments/`.
    public static func read(directory: String) throws(CatalogueError) -> CatalogueBundle {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CatalogueError(file: base, line: 0, column: 0, key: "",
                                 message: "checks directory \(base) does not exist", code: .unreadable)
        }
        var files: [String: String] = [:]
        var total = 0
        for (folder, prefix) in [(base, ""), (base + "/environments", environmentsPrefix)] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names.sorted() where isValidName(prefix + name) {
                let path = folder + "/" + name
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue
                else { continue }
                let source = try SourceText.read(path: path, displayName: path)
                total += source.text.utf8.count
                guard total <= sizeLimit, files.count < fileLimit else {
                    throw CatalogueError(
                        file: base, line: 0, column: 0, key: "",
                        message: "the catalogue is larger than the shared catalogue limit (\(sizeLimit) bytes, "
                            + "\(fileLimit) files)", code: .limit)
                }
                files[prefix + name] = source.text
            }
        }
        return CatalogueBundle(files: files)
    }

    /// Writes the bundle into `directory` (created if needed) and removes the YAML files there that are not part of
    /// it, so the folder then holds exactly this catalogue.
    public func write(to directory: String) throws {
        let manager = FileManager.default
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        try manager.createDirectory(atPath: base + "/environments", withIntermediateDirectories: true)
        for (folder, prefix) in [(base, ""), (base + "/environments", Self.environmentsPrefix)] {
            for name in (try? manager.contentsOfDirectory(atPath: folder)) ?? []
            where Self.isValidName(prefix + name) && files[prefix + name] == nil {
                try manager.removeItem(atPath: folder + "/" + name)
            }
        }
        for (name, text) in files where Self.isValidName(name) {
            try Data(text.utf8).write(to: URL(fileURLWithPath: base + "/" + name), options: .atomic)
        }
    }

    /// Loads the bundle with `loader` (errors name files as `<origin>/<name>`).
    public func load(with loader: CatalogueLoader, environment: String?, origin: String) -> CatalogueLoadResult {
        let checks = checkFileNames.map { (name: "\(origin)/\($0)", contents: Array(files[$0, default: ""].utf8)) }
        let environments = environmentFileNames.map {
            (name: "\(origin)/\($0)", contents: Array(files[$0, default: ""].utf8))
        }
        return loader.load(files: checks, environmentFiles: environments, environment: environment)
    }

    /// Loads the catalogue without an overlay and with each of its overlays: every problem of every file, as
    /// `catalog push` must refuse a catalogue that any environment could not load.
    public func validate(with loader: CatalogueLoader, origin: String) -> [CatalogueError] {
        var errors = load(with: loader, environment: "", origin: origin).errors
        for environment in environmentNames {
            errors += load(with: loader, environment: environment, origin: origin).errors
        }
        var seen: Set<CatalogueError> = []
        return errors.filter { seen.insert($0).inserted }
    }
}

/// One version of the shared catalogue as stored in the catalogue bucket (`current` and `version.<n>`).
public struct CatalogueRelease: Sendable, Hashable, Codable {
    /// 1, 2, 3...: one more on every push that changes the content.
    public var version: Int
    /// ``CatalogueBundle/sha256`` of ``files``.
    public var sha256: String
    public var pushedAt: Date
    /// `user@host` of the push.
    public var pushedBy: String
    public var files: [String: String]

    public init(version: Int, bundle: CatalogueBundle, pushedAt: Date, pushedBy: String) {
        self.version = version
        self.sha256 = bundle.sha256
        self.pushedAt = pushedAt
        self.pushedBy = pushedBy
        self.files = bundle.files
    }

    public var bundle: CatalogueBundle { CatalogueBundle(files: files) }

    /// True when ``sha256`` is the hash of ``files`` and every name is a catalogue file name.
    public var isIntact: Bool {
        files.keys.allSatisfy(CatalogueBundle.isValidName) && bundle.sha256 == sha256
    }

    enum CodingKeys: String, CodingKey {
        case version, sha256, files
        case pushedAt = "pushed_at"
        case pushedBy = "pushed_by"
    }
}

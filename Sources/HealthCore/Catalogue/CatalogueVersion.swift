/// Which catalogue an agent runs: reported in `status`, the agent heartbeat on NATS and the logs.
public struct CatalogueVersion: Sendable, Hashable, Codable {
    /// Where the checks in force came from.
    public enum Source: String, Sendable, Hashable, Codable {
        /// The shared catalogue on NATS (`<prefix>-health-catalog`).
        case shared
        /// A checks.d folder on this node.
        case local
        /// The catalogue built into the binary.
        case builtIn = "built-in"
    }

    public var source: Source
    /// The shared catalogue's version number (nil for a local catalogue).
    public var version: Int?
    /// SHA-256 of the catalogue's files (see `CatalogueBundle.sha256`).
    public var sha256: String
    /// The newest shared version this node refused to apply (it could not load it), if any.
    public var rejectedVersion: Int?

    public init(source: Source, version: Int? = nil, sha256: String, rejectedVersion: Int? = nil) {
        self.source = source
        self.version = version
        self.sha256 = sha256
        self.rejectedVersion = rejectedVersion
    }

    /// `shared v3 (1a2b3c4d5e6f)`, `local (1a2b3c4d5e6f)`.
    public var summary: String {
        let hash = String(sha256.prefix(12))
        var text = version.map { "\(source.rawValue) v\($0) (\(hash))" } ?? "\(source.rawValue) (\(hash))"
        if let rejectedVersion { text += "; v\(rejectedVersion) refused" }
        return text
    }

    enum CodingKeys: String, CodingKey {
        case source, version, sha256
        case rejectedVersion = "rejected_version"
    }
}

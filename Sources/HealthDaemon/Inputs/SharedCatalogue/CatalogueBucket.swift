import Foundation
import HealthCatalogue
import HealthNATS
import Logging

/// A problem with the shared catalogue bucket (not reachable, a value that is not a catalogue...).
public struct CatalogueBucketError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for callers that react differently.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// NATS failed (no server, no JetStream, a timeout).
        public static let nats = Code(rawValue: "nats")
        /// The bucket does not exist (opened without creating it): nothing was pushed yet.
        public static let notFound = Code(rawValue: "not-found")
        /// A stored value is not a catalogue release, or its hash does not match its files.
        public static let corrupt = Code(rawValue: "corrupt")
        /// Another push took the version number first, too many times in a row.
        public static let contention = Code(rawValue: "contention")
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The shared catalogue in JetStream KV (`<prefix>-health-catalog`).
///
/// Layout: `current` holds the release in force (a ``CatalogueRelease`` as JSON: version, sha256, pushed_at,
/// pushed_by, files); `version.<n>` holds every release, the last ``keptVersions`` of them. A push claims
/// `version.<n+1>` with a create (exactly one concurrent pusher wins the number), then writes `current`.
public struct CatalogueBucket: Sendable {
    public let keyValue: NATSKeyValue

    /// The key agents watch.
    public static let currentKey = "current"
    /// Releases kept under `version.<n>`; older ones are deleted at push.
    public static let keptVersions = 20
    /// A stored value larger than this is refused unread (a bundle is at most ``CatalogueBundle/sizeLimit``).
    public static let valueLimit = 1024 * 1024

    public static func versionKey(_ version: Int) -> String { "version.\(version)" }

    /// Opens the bucket, creating it when `create` (push) is set.
    public static func open(
        connection: NATSConnection, subjects: HealthSubjects, create: Bool
    ) async throws(CatalogueBucketError) -> CatalogueBucket {
        var configuration = KeyValueBucketConfiguration(bucket: subjects.catalogueBucket)
        configuration.maxValueSize = Int32(valueLimit)
        do throws(NATSError) {
            return CatalogueBucket(
                keyValue: try await connection.keyValue(
                    subjects.catalogueBucket, creating: create ? configuration : nil))
        } catch {
            let code: CatalogueBucketError.Code = error.code == .notFound ? .notFound : .nats
            throw CatalogueBucketError(code, "cannot open KV bucket \(subjects.catalogueBucket): \(error)")
        }
    }

    /// The release in force, nil when nothing was pushed yet.
    public func current() async throws(CatalogueBucketError) -> CatalogueRelease? {
        try await release(key: Self.currentKey)
    }

    /// Release `version`, while it is kept.
    public func release(version: Int) async throws(CatalogueBucketError) -> CatalogueRelease? {
        try await release(key: Self.versionKey(version))
    }

    private func release(key: String) async throws(CatalogueBucketError) -> CatalogueRelease? {
        let entry: KeyValueEntry?
        do {
            entry = try await keyValue.get(key)
        } catch {
            throw CatalogueBucketError(.nats, "cannot read \(keyValue.bucket) \(key): \(error)")
        }
        guard let entry else { return nil }
        return try Self.decode(entry.value, key: key)
    }

    /// Decodes a stored release, refusing one that is too large, not JSON, or whose hash does not match its files.
    public static func decode(_ bytes: [UInt8], key: String) throws(CatalogueBucketError) -> CatalogueRelease {
        guard bytes.count <= valueLimit else {
            throw CatalogueBucketError(.corrupt, "\(key): \(bytes.count) bytes, the limit is \(valueLimit)")
        }
        let release: CatalogueRelease
        do {
            release = try JSONDecoder.healthMessages.decode(CatalogueRelease.self, from: Data(bytes))
        } catch {
            throw CatalogueBucketError(.corrupt, "\(key) is not a catalogue release: \(error)")
        }
        guard release.isIntact else {
            throw CatalogueBucketError(.corrupt, "\(key): version \(release.version) does not match its sha256")
        }
        return release
    }

    /// What a push did.
    public enum PushOutcome: Sendable, Hashable {
        /// Stored as a new version.
        case stored(CatalogueRelease)
        /// The current release already has this content: nothing written.
        case unchanged(CatalogueRelease)
    }

    /// Stores `bundle` as the next version (the caller has validated it). Unchanged content writes nothing.
    ///
    /// Claiming `version.<n>` with a create makes concurrent pushes take distinct numbers; the loser waits for the
    /// winner to move `current` and takes the next one. A claimant that died between its claim and `current` is
    /// finished by the next push (its release becomes `current`), so the bucket never stays stuck.
    public func push(_ bundle: CatalogueBundle, by pusher: String) async throws(CatalogueBucketError) -> PushOutcome {
        var conflicts = 0
        for _ in 0..<100 {
            let current = try await current()
            if let current, current.sha256 == bundle.sha256 { return .unchanged(current) }
            let release = CatalogueRelease(
                version: (current?.version ?? 0) + 1, bundle: bundle, pushedAt: Date(), pushedBy: pusher)
            let bytes: [UInt8]
            do {
                bytes = Array(try JSONEncoder.healthMessages.encode(release))
            } catch {
                throw CatalogueBucketError(.corrupt, "cannot encode the release: \(error)")
            }
            do throws(NATSError) {
                try await keyValue.create(Self.versionKey(release.version), value: bytes)
            } catch let error where error.code == .alreadyExists {
                conflicts += 1
                if conflicts % 10 == 0, let stranded = try? await keyValue.get(Self.versionKey(release.version)) {
                    _ = try? await keyValue.put(Self.currentKey, value: stranded.value)
                }
                try? await Task.sleep(for: .milliseconds(10 * min(conflicts, 10)))
                continue
            } catch {
                throw CatalogueBucketError(.nats, "cannot store version \(release.version): \(error)")
            }
            do {
                try await keyValue.put(Self.currentKey, value: bytes)
            } catch {
                throw CatalogueBucketError(.nats, "cannot update \(Self.currentKey): \(error)")
            }
            let expired = release.version - Self.keptVersions
            if expired >= 1 { try? await keyValue.delete(Self.versionKey(expired)) }
            return .stored(release)
        }
        throw CatalogueBucketError(.contention, "other pushes kept taking the next version number; try again")
    }
}

import Foundation
import HealthCore
import HealthIO
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The embedded state store: one JSON file, `<directory>/state.json`, replaced atomically on every save.
///
/// A save writes `state.json.tmp-<pid>-<n>` in the same directory, `fsync`s it, renames it over `state.json` and
/// `fsync`s the directory, so after a crash ``load()`` sees the previous state or the new one, never a mix. A file
/// that cannot be decoded is moved aside to `state.json.corrupt-<timestamp>` (kept as evidence) and ``load()``
/// returns nil, so the daemon starts fresh instead of refusing to start. Saves are serialised by the actor.
public actor FileStateStore: StateStore {
    /// Files larger than this are refused on load.
    public static let maximumSize = 256 * 1024 * 1024
    public static let fileName = "state.json"

    public nonisolated let directory: String
    private let logger: Logger
    private var saveCount = 0
    /// The save in progress, which the next save waits for.
    private var lastSave: Task<Result<Void, StateStoreError>, Never>?

    public init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// `<directory>/state.json`.
    public nonisolated var path: String { directory + "/" + Self.fileName }

    /// Where state lives by default: `$STATE_DIRECTORY` (set by systemd's `StateDirectory=`), else
    /// `/var/lib/hive-health` for root, else `~/.local/state/hive-health`.
    public static func defaultDirectory(environment: [String: String], isRoot: Bool, home: String) -> String {
        // systemd may pass several directories separated by ':'; the first is ours.
        if let state = environment["STATE_DIRECTORY"], let first = state.split(separator: ":").first, !first.isEmpty {
            return String(first)
        }
        if isRoot { return "/var/lib/hive-health" }
        let base = home.hasSuffix("/") ? String(home.dropLast()) : home
        return base + "/.local/state/hive-health"
    }

    public func load() async throws -> PersistedState? {
        let bytes: [UInt8]
        do {
            guard let read = try StateFile.read(path, limit: Self.maximumSize) else { return nil }
            bytes = read
        } catch .tooLarge {
            throw StateStoreError(
                .tooLarge, "\(path) is larger than \(Self.maximumSize) bytes; refusing to load it")
        } catch {
            logger.warning("state file unreadable", metadata: ["file": "\(path)", "error": "\(error)"])
            moveAside(reason: "\(error)")
            return nil
        }
        do {
            let state = try Self.decoder().decode(PersistedState.self, from: Data(bytes))
            guard state.version <= PersistedState.currentVersion else {
                let supported = PersistedState.currentVersion
                throw StateStoreError(.corrupt, "version \(state.version) is newer than \(supported)")
            }
            return state
        } catch {
            moveAside(reason: "\(error)")
            return nil
        }
    }

    public func save(_ state: PersistedState) async throws {
        let data: Data
        do {
            data = try Self.encoder().encode(state)
        } catch {
            throw StateStoreError(.io, "cannot encode the state: \(error)")
        }
        saveCount += 1
        let (directory, path, bytes) = (directory, path, Array(data))
        let temporary = "\(path).tmp-\(getpid())-\(saveCount)"
        // fsync waits for the disk: on the blocking pool, not a thread of the cooperative pool. The actor is
        // re-entered while a save waits, so each save waits for the one before: the last state saved wins on disk.
        let previous = lastSave
        let save = Task {
            _ = await previous?.value
            return await BlockingPool.run { _ in
                Result { () throws(StateStoreError) in
                    try StateFile.ensureDirectory(directory)
                    do throws(StateStoreError) {
                        try StateFile.writeDurably(bytes, to: temporary)
                        try StateFile.rename(temporary, over: path)
                    } catch {
                        unlink(temporary)
                        throw error
                    }
                    // The rename is on disk only once the directory entry is.
                    try StateFile.syncDirectory(directory)
                }
            }
        }
        lastSave = save
        try await save.value.get()
        logger.trace("state saved", metadata: ["file": "\(path)", "bytes": "\(data.count)"])
    }

    /// Renames a bad `state.json` to `state.json.corrupt-<timestamp>` so the evidence survives.
    private func moveAside(reason: String) {
        let stamp = RFC3339.compact(Date())
        var target = "\(path).corrupt-\(stamp)"
        var attempt = 1
        while access(target, F_OK) == 0 {
            attempt += 1
            target = "\(path).corrupt-\(stamp)-\(attempt)"
        }
        if rename(path, target) == 0 {
            logger.warning(
                "state file is corrupt; moved aside, starting with no saved state",
                metadata: ["file": "\(path)", "moved_to": "\(target)", "reason": "\(reason)"])
        } else {
            let error = String(cString: strerror(errno))
            logger.warning(
                "state file is corrupt and could not be moved aside; starting with no saved state",
                metadata: ["file": "\(path)", "reason": "\(reason)", "rename_error": "\(error)"])
        }
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
            }
            return date
        }
        return decoder
    }
}

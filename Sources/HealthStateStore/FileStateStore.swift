import Foundation
import HealthCore
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The embedded state store: a snapshot, `<directory>/state.json`, replaced atomically on every ``save(_:)``, and a
/// journal, `<directory>/state.journal`, to which ``append(_:)`` adds only what changed since (one JSON line per
/// write, `fsync`ed), so the cost of persistence follows the changes rather than the size of the fleet.
/// ``load()`` reads the snapshot and replays the journal's lines written after it; a torn last line (a crash in the
/// middle of an append) is skipped with a log line. A state file written before the journal existed loads as is.
///
/// A save writes `state.json.tmp-<pid>-<n>` in the same directory, `fsync`s it, renames it over `state.json` and
/// `fsync`s the directory, so after a crash ``load()`` sees the previous state or the new one, never a mix. A file
/// that cannot be decoded is moved aside to `state.json.corrupt-<timestamp>` (kept as evidence) and ``load()``
/// returns nil, so the daemon starts fresh instead of refusing to start. Saves are serialised by the actor.
public actor FileStateStore: StateStore {
    /// Files larger than this are refused on load.
    public static let maximumSize = 256 * 1024 * 1024
    public static let fileName = "state.json"
    public static let journalName = "state.journal"

    public nonisolated let directory: String
    private let logger: Logger
    private var saveCount = 0
    /// The `savedAt` of the snapshot this store wrote last: journal lines name it, and only a store that wrote a
    /// snapshot appends (so a journal never follows a snapshot it was not written after).
    private var base: Date?
    /// Bytes appended to the journal since the last snapshot.
    public private(set) var journalBytes = 0
    /// Bytes of the last snapshot written.
    public private(set) var snapshotBytes = 0

    public init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// `<directory>/state.json`.
    public nonisolated var path: String { directory + "/" + Self.fileName }

    /// `<directory>/state.journal`.
    public nonisolated var journalPath: String { directory + "/" + Self.journalName }

    /// True once this store wrote a snapshot, so ``append(_:)`` can add to it.
    public var canAppend: Bool { base != nil }

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
            var state = try Self.decoder().decode(PersistedState.self, from: Data(bytes))
            guard state.version <= PersistedState.currentVersion else {
                let supported = PersistedState.currentVersion
                throw StateStoreError(.corrupt, "version \(state.version) is newer than \(supported)")
            }
            replayJournal(onto: &state)
            return state
        } catch {
            moveAside(reason: "\(error)")
            return nil
        }
    }

    /// Applies the journal's lines that follow the snapshot `state` was read from.
    private func replayJournal(onto state: inout PersistedState) {
        let bytes: [UInt8]
        do {
            // The journal may grow to twice a snapshot before the next one replaces it.
            guard let read = try StateFile.read(journalPath, limit: 3 * Self.maximumSize) else { return }
            bytes = read
        } catch {
            logger.warning(
                "state journal unreadable; using the snapshot alone",
                metadata: ["file": "\(journalPath)", "error": "\(error)"])
            return
        }
        let snapshotTime = state.savedAt
        let decoder = Self.decoder()
        var instanceIndex: [String: Int] = [:]
        for (position, health) in state.report.instances.enumerated() { instanceIndex[health.instanceID] = position }
        var applied = 0
        var stale = 0
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        for (number, line) in lines.enumerated() {
            let entry: StateJournalLine
            do {
                entry = try decoder.decode(StateJournalLine.self, from: Data(line))
            } catch {
                let torn = number == lines.count - 1 && bytes.last != UInt8(ascii: "\n")
                logger.warning(
                    torn ? "state journal: ignoring a torn last line" : "state journal: unreadable line; replay stops",
                    metadata: ["file": "\(journalPath)", "line": "\(number + 1)", "error": "\(error)"])
                break
            }
            guard abs(entry.base.timeIntervalSince(snapshotTime)) < 0.0005 else {
                stale += 1
                continue
            }
            entry.apply(to: &state, instanceIndex: &instanceIndex)
            applied += 1
        }
        logger.debug(
            "state journal replayed",
            metadata: ["file": "\(journalPath)", "lines": "\(applied)", "skipped_older": "\(stale)"])
    }

    /// Appends what changed since the last write as one line of the journal and `fsync`s it. Needs a snapshot
    /// written by this store first (``canAppend``); the caller writes one with ``save(_:)`` when it gets
    /// ``StateStoreError/Code/io`` for that reason or when ``journalBytes`` grows past what a snapshot costs.
    public func append(_ changes: StateChanges) async throws {
        guard let base else { throw StateStoreError(.io, "no snapshot written by this store yet to append to") }
        guard !changes.isEmpty else { return }
        // Streamed in pieces of about 1 MiB: one line however many records (a line torn by a crash is ignored on load).
        var written = 0
        try StateFile.appendDurably(to: journalPath) { (write) throws(StateStoreError) in
            try StateJournalLine.encode(changes, base: base) { (piece) throws(StateStoreError) in
                try write(piece)
                written += piece.count
            }
        }
        journalBytes += written
    }

    /// Writes a whole snapshot and starts a new journal after it.
    public func save(_ state: PersistedState) async throws {
        try await save(snapshot: state)
    }

    /// Writes a whole snapshot as it reads it (never whole in memory) and starts a new journal after it.
    public func save(snapshot state: some StateSnapshot) async throws {
        try StateFile.ensureDirectory(directory)
        saveCount += 1
        let temporary = "\(path).tmp-\(getpid())-\(saveCount)"
        var written = 0
        do {
            try StateFile.writeDurably(to: temporary) { (write) throws(StateStoreError) in
                written = try Self.writeSnapshot(state, write)
            }
            try StateFile.rename(temporary, over: path)
        } catch {
            unlink(temporary)
            throw error
        }
        // The journal's lines are in the snapshot now; lines left by a crash here name the older snapshot and are
        // skipped on load.
        if unlink(journalPath) != 0, errno != ENOENT {
            logger.warning(
                "cannot remove the old state journal", metadata: ["file": "\(journalPath)", "error": "\(errno)"])
        }
        // The rename is on disk only once the directory entry is.
        try StateFile.syncDirectory(directory)
        base = state.savedAt
        journalBytes = 0
        snapshotBytes = written
        logger.trace("state saved", metadata: ["file": "\(path)", "bytes": "\(written)"])
    }

    /// Writes the snapshot's JSON in pieces of about 1 MiB, so the whole document is never in memory: the report and
    /// the job records by ``StateJSONWriter`` (the catalogue, small, through `JSONEncoder`). Returns the bytes written.
    static func writeSnapshot(
        _ state: some StateSnapshot, _ write: ([UInt8]) throws(StateStoreError) -> Void
    ) throws(StateStoreError) -> Int {
        let piece = 1 << 20
        let jsonEncoder = encoder()
        var total = 0
        var writer = StateJSONWriter(capacity: piece + 64 * 1024)
        func spill(force: Bool = false) throws(StateStoreError) {
            guard force || writer.bytes.count >= piece else { return }
            try write(writer.bytes)
            total += writer.bytes.count
            writer.reset()
        }
        func encoded(_ value: some Encodable) throws(StateStoreError) {
            do {
                try writer.encoded(value, with: jsonEncoder)
            } catch {
                throw StateStoreError(.io, "cannot encode the state: \(error)")
            }
        }
        writer.raw("{\"version\":")
        writer.int(PersistedState.currentVersion)
        writer.raw(",\"savedAt\":")
        writer.date(state.savedAt)
        writer.raw(",\"report\":{\"node\":")
        writer.node(state.node)
        if let catalogue = state.catalogue {
            writer.raw(",\"catalogue\":")
            try encoded(catalogue)
        }
        writer.raw(",\"instances\":[")
        var first = true
        try state.forEachInstance { (health) throws(StateStoreError) in
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
            writer.instance(health)
            try spill()
        }
        writer.raw("]},\"jobs\":{")
        first = true
        try state.forEachJob { (key, record) throws(StateStoreError) in
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
            writer.string(key)
            writer.byte(UInt8(ascii: ":"))
            writer.record(record)
            try spill()
        }
        writer.raw("}}")
        try spill(force: true)
        return total
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

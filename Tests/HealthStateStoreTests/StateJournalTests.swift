import Foundation
import HealthCore
import HealthStateStore
import Logging
import Testing

@Suite("FileStateStore journal")
struct StateJournalTests {
    let logger = Logger(label: "test.health-store.journal")

    /// The sample state with its one job moved on by a success, and its instance entry ok again.
    static func changes(of state: PersistedState, atMilliseconds: Int64) -> StateChanges {
        var record = state.jobs.values.first!
        let at = FileStateStoreTests.date(milliseconds: atMilliseconds)
        record.state.record(.passed("answers again"), at: at, thresholds: Thresholds())
        var instance = state.report.instances[0]
        instance.instance = CategoryStatus(status: .ok)
        return StateChanges(at: at, jobs: [record.key: record], node: state.report.node, instances: [instance])
    }

    @Test("appended changes load back on top of the snapshot; a new snapshot removes the journal")
    func appendAndReplay() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let state = FileStateStoreTests.sampleState()
        try await store.save(state)
        let changes = Self.changes(of: state, atMilliseconds: 1_790_000_030_000)
        try await store.append(changes)
        #expect(FileManager.default.fileExists(atPath: store.journalPath))
        #expect(await store.journalBytes > 0)

        let restarted = FileStateStore(directory: directory.path, logger: logger)
        let loaded = try #require(try await restarted.load())
        let key = try #require(changes.jobs.keys.first)
        #expect(loaded.jobs[key] == changes.jobs[key])
        #expect(loaded.jobs[key]?.state.decided == .passed)
        #expect(loaded.report.instances.first?.instance.status == .ok)
        #expect(loaded.savedAt == changes.at)

        try await store.save(loaded)
        #expect(!FileManager.default.fileExists(atPath: store.journalPath))
        #expect(try await restarted.load() == loaded)
    }

    /// The final flush of a large fleet writes every job's counters: a line of megabytes, streamed in pieces.
    @Test("a journal line of several MiB (written in pieces) loads back whole, every record and instance")
    func largeLineInPieces() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let state = FileStateStoreTests.sampleState()
        try await store.save(state)
        let template = try #require(state.jobs.values.first)
        let at = FileStateStoreTests.date(milliseconds: 1_790_000_060_000)
        var jobs: [String: JobRecord] = [:]
        for index in 0..<4_000 {
            var record = template
            record.targetID = "i-\(String(format: "%017x", index))"
            record.instanceID = record.targetID
            record.state.record(
                .passed("answers, run \(index): " + String(repeating: "ok ", count: 200)), at: at, thresholds: Thresholds())
            jobs[record.key] = record
        }
        let instances = (0..<1_000).map { index -> InstanceHealth in
            var instance = state.report.instances[0]
            instance.instanceID = "i-\(String(format: "%017x", index))"
            return instance
        }
        try await store.append(StateChanges(at: at, jobs: jobs, node: state.report.node, instances: instances))
        let bytes = await store.journalBytes
        #expect(bytes > 3 << 20, "\(bytes) bytes: more than a few pieces of 1 MiB")
        let lines = try String(contentsOfFile: store.journalPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)

        let loaded = try #require(try await FileStateStore(directory: directory.path, logger: logger).load())
        for (key, record) in jobs { #expect(loaded.jobs[key] == record, "\(key)") }
        // The journal's entries go on top of the snapshot's (whose own instance stays).
        let expected = Set(instances.map(\.instanceID)).union(state.report.instances.map(\.instanceID))
        #expect(Set(loaded.report.instances.map(\.instanceID)) == expected)
        #expect(loaded.report.instances.count == expected.count)
        #expect(loaded.savedAt == at)
    }

    @Test("a store appends only after writing a snapshot itself")
    func appendNeedsSnapshot() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        #expect(await !store.canAppend)
        let state = FileStateStoreTests.sampleState()
        await #expect(throws: StateStoreError.self) {
            try await store.append(Self.changes(of: state, atMilliseconds: 1_790_000_030_000))
        }
        #expect(!FileManager.default.fileExists(atPath: store.journalPath))
    }

    @Test("a torn last line (a crash while appending) is skipped; the lines before it count")
    func tornLastLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let state = FileStateStoreTests.sampleState()
        try await store.save(state)
        let first = Self.changes(of: state, atMilliseconds: 1_790_000_030_000)
        try await store.append(first)
        let handle = try #require(FileHandle(forWritingAtPath: store.journalPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"base\":\"2026-09-21T14:13:20.123Z\",\"at\":\"2026-09-".utf8))
        try handle.close()

        let loaded = try #require(try await FileStateStore(directory: directory.path, logger: logger).load())
        let key = try #require(first.jobs.keys.first)
        #expect(loaded.jobs[key] == first.jobs[key])
    }

    @Test("journal lines written after an older snapshot are not applied to a newer one")
    func staleJournalSkipped() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let state = FileStateStoreTests.sampleState()
        try await store.save(state)
        try await store.append(Self.changes(of: state, atMilliseconds: 1_790_000_030_000))
        let journal = try Data(contentsOf: URL(fileURLWithPath: store.journalPath))

        // A newer snapshot, then the old journal put back (as a crash between the rename and the removal leaves it).
        let newer = FileStateStoreTests.sampleState(savedAtMilliseconds: 1_790_000_099_000, marker: "newer")
        try await store.save(newer)
        try journal.write(to: URL(fileURLWithPath: store.journalPath))
        #expect(try await store.load() == newer)
    }

    @Test("a state file written by the previous release (one JSON document, sorted keys) loads as it is")
    func previousFormatLoads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let state = FileStateStoreTests.sampleState()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        let store = FileStateStore(directory: directory.path, logger: logger)
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try encoder.encode(state).write(to: URL(fileURLWithPath: store.path))
        #expect(try await store.load() == state)
    }

    @Test("the snapshot's job records read back exactly through JobRecord's Codable, odd text and values included")
    func handWrittenRecordsRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var state = FileStateStoreTests.sampleState()
        var record = try #require(state.jobs.values.first)
        var observation = Observation.failed(
            "quote \" backslash \\ newline \n tab \t bell \u{7} ünïcode ✓", values: ["a": 0.1, "b": -3, "c": 1e-7])
        observation.duration = 0.000_123_4
        record.state.record(observation, at: Date(timeIntervalSince1970: -86_400 * 400 - 0.25), thresholds: Thresholds())
        record.instanceID = nil
        record.targetKind = .node
        state.jobs = ["odd/\"key\"": record]
        let store = FileStateStore(directory: directory.path, logger: logger)
        try await store.save(state)
        let loaded = try #require(try await store.load())
        #expect(loaded == state)
    }

    @Test("report entries written by hand read back exactly through their Codable, in the snapshot and the journal")
    func handWrittenReportRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var state = FileStateStoreTests.sampleState()
        let odd = CheckStatus(
            name: "odd \"name\"", probe: "site.probe", target: "vol-0\\x", status: .insufficientData,
            message: "line\nbreak \u{1} ✓", observedAt: nil, impairedSince: nil, flapping: true,
            values: ["small": 1e-9, "negative": -2.5, "whole": 42])
        var instance = state.report.instances[0]
        instance.ebs = CategoryStatus(status: .insufficientData, checks: [odd])
        instance.system = CategoryStatus(
            status: .impaired, impairedSince: Date(timeIntervalSince1970: -1.5), checks: [odd, odd])
        state.report.instances.append(
            InstanceHealth(
                instanceID: "i-0second", state: .stopped, availabilityZone: "", system: .notApplicable,
                instance: .notApplicable, ebs: .notApplicable))
        state.report.instances[0] = instance
        state.report.node.system = CategoryStatus(status: .initializing, checks: [odd])
        let store = FileStateStore(directory: directory.path, logger: logger)
        try await store.save(state)
        #expect(try await store.load() == state)

        var changed = instance
        changed.instance = CategoryStatus(status: .ok, checks: [odd])
        let at = FileStateStoreTests.date(milliseconds: 1_790_000_040_000)
        try await store.append(StateChanges(at: at, jobs: [:], node: state.report.node, instances: [changed]))
        let loaded = try #require(try await FileStateStore(directory: directory.path, logger: logger).load())
        #expect(loaded.report.instances.first == changed)
        #expect(loaded.report.instances.last == state.report.instances.last)
        #expect(loaded.report.node == state.report.node)
    }
}

import Foundation
import HealthCore
import HealthStateStore
import Logging
import Testing

@Suite("FileStateStore")
struct FileStateStoreTests {
    let logger = Logger(label: "test.health-store")

    /// Dates built from whole milliseconds, as the store keeps them.
    static func date(milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    static func sampleState(savedAtMilliseconds: Int64 = 1_790_000_000_123, marker: String = "m") -> PersistedState {
        var state = CheckState()
        let thresholds = Thresholds()
        let start = date(milliseconds: 1_790_000_000_001)
        state.record(.passed("ok"), at: start, thresholds: thresholds)
        state.record(.failed("no answer"), at: date(milliseconds: 1_790_000_010_457), thresholds: thresholds)
        state.record(.failed("no answer again"), at: date(milliseconds: 1_790_000_020_999), thresholds: thresholds)
        let failedCheck = CheckStatus(
            name: "qmp-status", probe: "qmp.status", target: "i-0abc", status: .failed, message: marker,
            observedAt: date(milliseconds: 1_790_000_020_999), impairedSince: state.impairedSince,
            values: ["latency_ms": 1.5])
        let instance = InstanceHealth(
            instanceID: "i-0abc", state: .running, availabilityZone: "ap-southeast-2a",
            system: CategoryStatus(status: .ok),
            instance: CategoryStatus(status: .impaired, impairedSince: state.impairedSince, checks: [failedCheck]),
            ebs: .notApplicable)
        let node = NodeHealth(name: "node1", system: CategoryStatus(status: .ok))
        let report = HealthReport(node: node, instances: [instance])
        let job = JobRecord(
            check: "qmp-status", probe: "qmp.status", category: .instance, targetKind: .instance, targetID: "i-0abc",
            instanceID: "i-0abc", state: state)
        return PersistedState(
            savedAt: date(milliseconds: savedAtMilliseconds), report: report, jobs: [job.key: job])
    }

    @Test("a saved state loads back equal, counters and impairedSince included")
    func roundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let state = Self.sampleState()
        let job = try #require(state.jobs.values.first)
        #expect(job.state.consecutiveFailed == 2)
        #expect(job.state.decided == .failed)
        #expect(job.state.impairedSince == Self.date(milliseconds: 1_790_000_010_457))

        try await store.save(state)
        let loaded = try #require(try await store.load())
        #expect(loaded == state)
        let loadedJob = try #require(loaded.jobs[job.key])
        #expect(loadedJob.state.consecutiveFailed == 2)
        #expect(loadedJob.state.impairedSince == Self.date(milliseconds: 1_790_000_010_457))
        #expect(loadedJob.state.history == [.passed, .failed, .failed])

        // A second store on the same directory (a restarted daemon) sees the same state.
        let restarted = FileStateStore(directory: directory.path, logger: logger)
        #expect(try await restarted.load() == state)
    }

    @Test("dates are kept to the millisecond, in RFC 3339 UTC")
    func millisecondDates() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        var state = Self.sampleState()
        state.savedAt = Date(timeIntervalSince1970: 1_790_000_000.123_4)
        try await store.save(state)
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(text.contains("\"savedAt\":\"2026-09-21T14:13:20.123Z\""))
        let loaded = try #require(try await store.load())
        #expect(abs(loaded.savedAt.timeIntervalSince1970 - 1_790_000_000.123) < 0.000_001)

        // Before 1970 the fields still come out right.
        state.savedAt = Date(timeIntervalSince1970: -1.5)
        try await store.save(state)
        let early = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(early.contains("\"savedAt\":\"1969-12-31T23:59:58.500Z\""))
        #expect(try await store.load()?.savedAt == Date(timeIntervalSince1970: -1.5))
    }

    @Test("load returns nil when nothing was saved yet")
    func missingFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.file("never-created"), logger: logger)
        #expect(try await store.load() == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.file("never-created")))
    }

    @Test("save creates the missing directory with mode 0700")
    func createsDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let nested = directory.file("a/b/hive-health")
        let store = FileStateStore(directory: nested, logger: logger)
        try await store.save(Self.sampleState())
        let attributes = try FileManager.default.attributesOfItem(atPath: nested)
        let mode = try #require(attributes[.posixPermissions] as? NSNumber)
        #expect(mode.intValue & 0o777 == 0o700)
        #expect(try await store.load() == Self.sampleState())
    }

    @Test("a leftover temporary file from a crashed save does not disturb load or the next save")
    func leftoverTemporaryFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let state = Self.sampleState()
        try await store.save(state)
        let leftover = directory.file("state.json.tmp-99999-7")
        try Data("{\"version\": 1, \"half-writ".utf8).write(to: URL(fileURLWithPath: leftover))

        #expect(try await store.load() == state)
        let next = Self.sampleState(savedAtMilliseconds: 1_790_000_099_000, marker: "next")
        try await store.save(next)
        #expect(try await store.load() == next)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!names.contains { $0.hasPrefix("state.json.corrupt") })
    }

    @Test("a failed save throws and leaves the previous state intact")
    func failedSaveKeepsPreviousState() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let state = Self.sampleState()
        try await store.save(state)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))

        // A store whose directory is a file (here: the other store's state.json) cannot save.
        let misplaced = FileStateStore(directory: store.path, logger: logger)
        await #expect(throws: StateStoreError.self) {
            try await misplaced.save(Self.sampleState(marker: "lost"))
        }

        // The temporary file cannot be created: the write fails before anything is replaced.
        try FileManager.default.createDirectory(
            atPath: "\(store.path).tmp-\(ProcessInfo.processInfo.processIdentifier)-2",
            withIntermediateDirectories: false)
        await #expect(throws: StateStoreError.self) {
            try await store.save(Self.sampleState(marker: "lost"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path)) == before)
        #expect(try await store.load() == state)
    }

    @Test("a corrupt file is moved aside with its contents and load starts fresh")
    func corruptFileMovedAside() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let garbage = Data("{\"version\": 1, \"savedAt\": \"yesterday\"".utf8)
        try garbage.write(to: URL(fileURLWithPath: store.path))

        #expect(try await store.load() == nil)
        #expect(!FileManager.default.fileExists(atPath: store.path))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let aside = try #require(names.first { $0.hasPrefix("state.json.corrupt-") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file(aside))) == garbage)

        // Valid JSON of the wrong shape is corrupt too; a second move-aside does not overwrite the first.
        try Data("[1, 2, 3]".utf8).write(to: URL(fileURLWithPath: store.path))
        #expect(try await store.load() == nil)
        let after = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(after.filter { $0.hasPrefix("state.json.corrupt-") }.count == 2)

        // The store still saves and loads after that.
        try await store.save(Self.sampleState())
        #expect(try await store.load() == Self.sampleState())
    }

    @Test("a state file over 256 MiB is refused with an error, and kept")
    func oversizedFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        #expect(FileManager.default.createFile(atPath: store.path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.path))
        // Sparse: no disk space is used.
        try handle.truncate(atOffset: UInt64(FileStateStore.maximumSize) + 1)
        try handle.close()

        let error = await #expect(throws: StateStoreError.self) { try await store.load() }
        #expect(error?.code == .tooLarge)
        #expect(FileManager.default.fileExists(atPath: store.path))
    }

    @Test("concurrent saves leave one complete, valid state and no temporary files")
    func concurrentSaves() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStateStore(directory: directory.path, logger: logger)
        let states = (0..<24).map {
            Self.sampleState(savedAtMilliseconds: 1_790_000_000_000 + Int64($0), marker: "s\($0)")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for state in states { group.addTask { try await store.save(state) } }
            try await group.waitForAll()
        }
        let loaded = try #require(try await store.load())
        #expect(states.contains(loaded))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == ["state.json"])
    }

    @Test("the default directory follows systemd, then root, then the user's state home")
    func defaultDirectory() {
        #expect(
            FileStateStore.defaultDirectory(
                environment: ["STATE_DIRECTORY": "/var/lib/hive-health-x"], isRoot: true, home: "/root")
                == "/var/lib/hive-health-x")
        #expect(
            FileStateStore.defaultDirectory(environment: ["STATE_DIRECTORY": "/a:/b"], isRoot: false, home: "/h")
                == "/a")
        #expect(
            FileStateStore.defaultDirectory(environment: [:], isRoot: true, home: "/root") == "/var/lib/hive-health")
        #expect(
            FileStateStore.defaultDirectory(environment: ["STATE_DIRECTORY": ""], isRoot: false, home: "/home/op/")
                == "/home/op/.local/state/hive-health")
    }
}

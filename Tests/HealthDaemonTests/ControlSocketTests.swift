import Foundation
import HealthCore
import HealthDaemon
import HealthIO
import HealthStateStore
import HealthTestKit
import Logging
import Testing

@Suite("The daemon's control socket")
struct ControlSocketTests {
    /// Fails while `<flags>/<instance id>` exists.
    static func checks(flags: URL) -> String {
        """
        checks:
          - name: test.flag
            probe: stub.file
            target: instance
            interval: 1s
            timeout: 500ms
            splay: 100ms
            thresholds:
              consecutive_failures: 1
            params:
              path: "\(flags.path)/{{instance.id}}"
        """
    }

    /// Nothing reaches the store while the daemon runs: only the final save at shutdown.
    static var neverSaving: HealthDaemon.Timing {
        var timing = HealthDaemon.Timing.fast
        timing.persistence = .seconds(3600)
        timing.counterPersistence = .seconds(3600)
        timing.transitionPersistence = .seconds(3600)
        return timing
    }

    static func instanceStatus(_ status: DaemonAccess.CurrentStatus?) -> SummaryStatus? {
        status?.report?.instances.first?.instance.status
    }

    @Test("status shows the running daemon's transition before the store has it, then the store's after it stops")
    func liveViewThenStore() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let flags = fixture.root.appending(path: "flags")
        try FileManager.default.createDirectory(at: flags, withIntermediateDirectories: true)
        try fixture.write(Self.checks(flags: flags), to: "checks.yaml")
        try fixture.writeInventory(ids: ["i-0live"])
        let logger = Logger(label: "test")
        let setup = try fixture.setup()
        let access = DaemonAccess(setup: setup, logger: logger)
        let socket = ControlSocket.path(stateDirectory: setup.stateDirectory)

        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: Self.neverSaving)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        var last: DaemonAccess.CurrentStatus?
        let ok = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            last = try? await access.currentStatus()
            return Self.instanceStatus(last) == .ok
        }
        #expect(ok, "never ok: \(String(describing: last?.source))")
        try Data().write(to: flags.appending(path: "i-0live"))
        let impaired = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            last = try? await access.currentStatus()
            return Self.instanceStatus(last) == .impaired
        }
        #expect(impaired, "the live view never turned impaired: \(String(describing: last?.source))")
        #expect(last?.source == .daemon(pid: getpid(), socket: socket))
        let check = last?.report?.instances.first?.instance.checks.first
        #expect(check?.name == "test.flag")
        #expect(check?.status == .failed)
        // The store cannot have it: the daemon saves only every hour (and at its final save).
        let store = FileStateStore(directory: setup.stateDirectory, logger: logger)
        #expect(try await store.load() == nil, "the store saved before shutdown")
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect(attributes[.type] as? FileAttributeType == .typeSocket)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!FileManager.default.fileExists(atPath: socket), "a clean exit removes the socket")
        let saved = try await access.currentStatus()
        #expect(Self.instanceStatus(saved) == .impaired)
        guard case .store(let location, let savedAt, let unreachable) = saved.source else {
            Issue.record("no daemon runs, yet the source is \(saved.source)")
            return
        }
        #expect(location == setup.stateDirectory)
        #expect(savedAt != nil)
        #expect(unreachable == nil, "no socket is not a failure to report")
    }

    @Test("a silent, a foreign and a stale peer on the socket path: status reads the store within the wait, saying why")
    func hostilePeers() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let flags = fixture.root.appending(path: "flags")
        try fixture.write(Self.checks(flags: flags), to: "checks.yaml")
        try fixture.writeInventory(ids: ["i-0peer"])
        let logger = Logger(label: "test")
        let setup = try fixture.setup()
        let access = DaemonAccess(setup: setup, logger: logger)
        let socket = ControlSocket.path(stateDirectory: setup.stateDirectory)
        try FileManager.default.createDirectory(atPath: setup.stateDirectory, withIntermediateDirectories: true)

        // A silent peer: connected, never answers.
        let silent = try FakeUnixPeer(path: socket) { $0.waitForClose(timeout: .seconds(30)) }
        let quiet = try await access.currentStatus(wait: .milliseconds(300))
        silent.stop()
        #expect(quiet.report == nil, "nothing is saved, nothing invented")
        guard case .store(_, .none, let why?) = quiet.source else {
            Issue.record("a silent peer: \(quiet.source)")
            return
        }
        #expect(why.contains("no answer"), "\(why)")

        // Not hive-health: an HTTP server, say.
        let foreign = try FakeUnixPeer(path: socket) { connection in
            _ = connection.readLine()
            connection.send("HTTP/1.1 400 Bad Request\r\n\r\n")
        }
        let garbled = try await access.currentStatus(wait: .seconds(5))
        foreign.stop()
        guard case .store(_, _, let reason?) = garbled.source else {
            Issue.record("a foreign peer: \(garbled.source)")
            return
        }
        #expect(reason.contains("not a hive-health answer"), "\(reason)")

        // A crashed daemon's socket: nobody listens; the next daemon replaces it.
        let crashed = try FakeUnixPeer(path: socket) { _ in }
        crashed.stopKeepingFile()
        let stale = await eventually(timeout: .seconds(5), poll: .milliseconds(50)) {
            guard case .store(_, _, let reason?) = try? await access.currentStatus().source else { return false }
            return reason.contains("stale")
        }
        #expect(stale)
        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: Self.neverSaving)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        let live = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            (try? await access.currentStatus())?.source == .daemon(pid: getpid(), socket: socket)
        }
        #expect(live, "the daemon did not replace the stale socket")
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("the control socket refuses an unknown or oversized request with one error line and goes on serving")
    func refusesBadRequests() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let flags = fixture.root.appending(path: "flags")
        try fixture.write(Self.checks(flags: flags), to: "checks.yaml")
        try fixture.writeInventory(ids: ["i-0bad"])
        let logger = Logger(label: "test")
        let setup = try fixture.setup()
        let socket = ControlSocket.path(stateDirectory: setup.stateDirectory)
        let daemon = try await HealthDaemon(setup: setup, logger: logger, timing: Self.neverSaving)
        let group = daemon.makeServiceGroup()
        let running = Task { try await group.run() }
        defer { running.cancel() }
        #expect(await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: socket) })

        let unknown = try await Self.exchange(socket, send: Array("reboot now\n".utf8))
        #expect(unknown.hasPrefix("error unknown request 'reboot now'"), "\(unknown)")
        #expect(unknown.filter { $0 == "\n" }.count == 1, "one line: \(unknown)")
        let oversized = try await Self.exchange(socket, send: Array(repeating: UInt8(ascii: "s"), count: 4096))
        #expect(oversized.hasPrefix("error request longer than"), "\(oversized)")
        // A client that connects and says nothing holds its own connection only.
        let silent = try StreamSocket.connect(unixPath: socket)
        defer { silent.close() }
        for _ in 0..<20 {
            let answer = try await Self.exchange(socket, send: Array("status\n".utf8))
            #expect(answer.hasPrefix("ok \(getpid())\n{"), "\(answer.prefix(200))")
        }
        let dropped = try await offCooperativePool {
            String(
                decoding: try silent.read(upTo: 512, deadline: .now.advanced(by: .seconds(10)), step: "waiting"),
                as: UTF8.self)
        }
        #expect(dropped.hasPrefix("error no request line within"), "\(dropped)")
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("a socket another process answers on, or a file that is no socket, is left alone; the daemon runs without")
    func leavesOthersAlone() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let flags = fixture.root.appending(path: "flags")
        try fixture.write(Self.checks(flags: flags), to: "checks.yaml")
        try fixture.writeInventory(ids: ["i-0other"])
        let logger = Logger(label: "test")
        let setup = try fixture.setup()
        let socket = ControlSocket.path(stateDirectory: setup.stateDirectory)
        try FileManager.default.createDirectory(atPath: setup.stateDirectory, withIntermediateDirectories: true)

        let other = try FakeUnixPeer(path: socket) { $0.send("error not yours\n") }
        defer { other.stop() }
        let first = try await HealthDaemon(setup: setup, logger: logger, timing: Self.neverSaving)
        let group = first.makeServiceGroup()
        let running = Task { try await group.run() }
        let checked = await eventually(timeout: .seconds(30), poll: .milliseconds(50)) {
            first.evaluator.report().instances.first?.instance.status == .ok
        }
        #expect(checked, "the daemon goes on checking without its control socket")
        #expect(other.isListening)
        #expect(other.connections >= 1, "the daemon looked whether someone answers")
        let answer = try await Self.exchange(socket, send: Array("status\n".utf8))
        #expect(answer == "error not yours\n", "the other listener still has the path")
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(FileManager.default.fileExists(atPath: socket), "not removed: it was never the daemon's")
        other.stop()

        try Data("not a socket".utf8).write(to: URL(fileURLWithPath: socket))
        let second = try await HealthDaemon(setup: setup, logger: logger, timing: Self.neverSaving)
        let group2 = second.makeServiceGroup()
        let running2 = Task { try await group2.run() }
        let checked2 = await eventually(timeout: .seconds(30), poll: .milliseconds(50)) {
            second.evaluator.report().instances.first?.instance.status == .ok
        }
        #expect(checked2)
        await group2.triggerGracefulShutdown()
        try await running2.value
        #expect(try String(contentsOfFile: socket, encoding: .utf8) == "not a socket")
    }

    /// Sends `bytes` on a new connection and returns all the daemon answered before closing.
    static func exchange(_ socket: String, send bytes: [UInt8]) async throws -> String {
        try await offCooperativePool {
            let connection = try StreamSocket.connect(unixPath: socket)
            defer { connection.close() }
            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
            // A peer may answer and hang up before it reads (another program on the path does): its answer is
            // still there to read, so a failed write is not the end of the exchange.
            try? connection.write(bytes, deadline: deadline, step: "sending")
            var answer: [UInt8] = []
            while answer.count < 64 << 20 {
                // The daemon closes with our oversized request unread: the kernel reports a reset after the answer.
                guard let chunk = try? connection.read(upTo: 1 << 16, deadline: deadline, step: "reading"),
                    !chunk.isEmpty
                else { break }
                answer += chunk
            }
            return String(decoding: answer, as: UTF8.self)
        }
    }
}

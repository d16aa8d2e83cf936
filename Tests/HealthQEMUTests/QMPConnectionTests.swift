import Foundation
import HealthQEMU
import HealthTestKit
import Logging
import Testing

let testLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

@Suite("QMP client against a real QEMU")
struct QMPConnectionTests {
    @Test("greeting, capabilities, query-status, stop and cont with STOP/RESUME events")
    func statusAndEvents() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let qemu = try await QEMUFixtures.startQEMU(qmp: folder.file("qmp.sock"))
        defer { qemu.stop() }
        let connection = try await QMPConnection.connect(
            path: folder.file("qmp.sock"), timeout: .seconds(10), logger: testLogger)
        defer { connection.close() }
        #expect(connection.greeting?["QMP"]?["version"]?["qemu"]?["major"]?.number != nil)
        let status = try await connection.execute("query-status", timeout: .seconds(5))
        #expect(status["status"]?.string == "running")
        #expect(status["running"]?.bool == true)

        let events = connection.events()
        _ = try await connection.execute("stop", timeout: .seconds(5))
        let paused = try await connection.execute("query-status", timeout: .seconds(5))
        #expect(paused["status"]?.string == "paused")
        _ = try await connection.execute("cont", timeout: .seconds(5))
        var names: [String] = []
        for await event in events {
            names.append(event.name)
            if names.count == 2 { break }
        }
        #expect(names == ["STOP", "RESUME"])
        #expect(connection.recentEvents.map(\.name).suffix(2) == ["STOP", "RESUME"])
    }

    @Test("an unknown command is a commandFailed error and the connection stays usable")
    func commandError() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let qemu = try await QEMUFixtures.startQEMU(qmp: folder.file("qmp.sock"))
        defer { qemu.stop() }
        let connection = try await QMPConnection.connect(
            path: folder.file("qmp.sock"), timeout: .seconds(10), logger: testLogger)
        defer { connection.close() }
        do throws(QEMUError) {
            _ = try await connection.execute("no-such-command", timeout: .seconds(5))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .commandFailed)
            #expect(error.message.contains("CommandNotFound"))
        }
        let status = try await connection.execute("query-status", timeout: .seconds(5))
        #expect(status["status"]?.string == "running")
    }

    @Test("concurrent commands through the pool share one connection, matched by id")
    func poolSharesConnection() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let socket = folder.file("qmp.sock")
        let qemu = try await QEMUFixtures.startQEMU(qmp: socket)
        defer { qemu.stop() }
        let pool = QMPConnectionPool()
        let statuses = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let connection = try await pool.connection(to: socket, timeout: .seconds(10), logger: testLogger)
                    let command = index.isMultiple(of: 2) ? "query-status" : "query-name"
                    let value = try await connection.execute(command, timeout: .seconds(5))
                    return value["status"]?.string ?? (command == "query-name" ? "name" : nil)
                }
            }
            var collected: [String?] = []
            for try await status in group { collected.append(status) }
            return collected
        }
        #expect(statuses.filter { $0 == "running" }.count == 20)
        #expect(statuses.filter { $0 == "name" }.count == 20)
        #expect(await pool.openSockets == [socket])
        let first = try await pool.connection(to: socket, timeout: .seconds(5), logger: testLogger)
        first.close()
        let second = try await pool.connection(to: socket, timeout: .seconds(5), logger: testLogger)
        #expect(first !== second)
        #expect(try await second.execute("query-status", timeout: .seconds(5))["status"]?.string == "running")
        await pool.closeAll()
    }

    @Test("kill -9 of QEMU ends the event stream at once; reconnecting is refused or the socket is missing")
    func killEndsEvents() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let socket = folder.file("qmp.sock")
        let qemu = try await QEMUFixtures.startQEMU(qmp: socket)
        defer { qemu.stop() }
        let pool = QMPConnectionPool()
        let connection = try await pool.connection(to: socket, timeout: .seconds(10), logger: testLogger)
        let events = connection.events()
        let clock = ContinuousClock()
        let start = clock.now
        qemu.signal(SIGKILL)
        for await _ in events {}
        #expect(clock.now - start < .seconds(2))
        #expect(connection.closeReason?.meansPeerIsGone == true)
        do throws(QEMUError) {
            _ = try await pool.connection(to: socket, timeout: .seconds(2), logger: testLogger)
            Issue.record("expected the reconnect to fail")
        } catch {
            #expect(error.meansPeerIsGone, "\(error)")
        }
    }

    @Test("a missing socket and a stale socket file are missing and refused")
    func missingAndRefused() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        do throws(QEMUError) {
            _ = try await QMPConnection.connect(
                path: folder.file("none.sock"), timeout: .seconds(1), logger: testLogger)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .missing)
        }
        // A socket file without a listener: bind, then close.
        let stale = try FakeUnixPeer(path: folder.file("stale2.sock")) { _ in }
        stale.stopKeepingFile()
        #expect(await eventually(timeout: .seconds(5)) { !stale.isListening })
        do throws(QEMUError) {
            _ = try await QMPConnection.connect(
                path: folder.file("stale2.sock"), timeout: .seconds(1), logger: testLogger)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .refused, "\(error)")
        }
    }
}

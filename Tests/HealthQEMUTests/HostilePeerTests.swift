import Foundation
import HealthQEMU
import HealthTestKit
import Testing

/// A greeting as QEMU sends it.
let fakeGreeting = #"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}"# + "\n"

/// Answers qmp_capabilities, then hands every further command line to `reply`.
func fakeMonitor(_ reply: @escaping @Sendable (String, FakeUnixPeer.Connection) -> Void)
    -> @Sendable (FakeUnixPeer.Connection) -> Void
{
    { connection in
        connection.send(fakeGreeting)
        guard let negotiate = connection.readLine(), let id = commandID(negotiate) else { return }
        connection.send(#"{"return": {}, "id": \#(id)}"# + "\n")
        while let line = connection.readLine() { reply(line, connection) }
    }
}

/// The `id` of a command line we sent.
func commandID(_ line: String) -> Int? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
    return (object["id"] as? NSNumber)?.intValue
}

@Suite("QMP client against hostile peers")
struct HostilePeerTests {
    func connect(_ path: String, timeout: Duration = .seconds(5)) async throws(QEMUError) -> QMPConnection {
        try await QMPConnection.connect(path: path, timeout: timeout, logger: testLogger)
    }

    @Test("garbage instead of a greeting is a protocol violation, at once")
    func garbageGreeting() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("q.sock")) { connection in
            connection.send([0xFF, 0x00, 0x41, 0x0A])
            connection.waitForClose()
        }
        defer { peer.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: QEMUError.self) { try await connect(folder.file("q.sock"), timeout: .seconds(5)) }
        #expect(clock.now - start < .seconds(10), "bounded, no hang")
        do throws(QEMUError) {
            _ = try await connect(folder.file("q.sock"))
        } catch {
            #expect(error.code == .protocolViolation)
        }
    }

    @Test("a 100 MB line is cut at 1 MiB: lineTooLong, no hang, bounded memory")
    func hugeLine() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("q.sock")) { connection in
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            for _ in 0..<100 where connection.send(chunk) {}
        }
        defer { peer.stop() }
        do throws(QEMUError) {
            _ = try await connect(folder.file("q.sock"), timeout: .seconds(10))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .lineTooLong, "\(error)")
        }
    }

    @Test("a peer that never greets, and one that never answers a command, time out")
    func silentPeers() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let mute = try FakeUnixPeer(path: folder.file("mute.sock")) { $0.waitForClose() }
        defer { mute.stop() }
        let clock = ContinuousClock()
        var start = clock.now
        do throws(QEMUError) {
            _ = try await connect(folder.file("mute.sock"), timeout: .milliseconds(300))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.message.contains("greeting"))
        }
        #expect(clock.now - start < .seconds(10), "bounded, no hang")

        let deaf = try FakeUnixPeer(path: folder.file("deaf.sock"), script: fakeMonitor { _, _ in })
        defer { deaf.stop() }
        let connection = try await connect(folder.file("deaf.sock"))
        defer { connection.close() }
        start = clock.now
        do throws(QEMUError) {
            _ = try await connection.execute("query-status", timeout: .milliseconds(300))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
        }
        #expect(clock.now - start < .seconds(10), "bounded, no hang")
    }

    @Test("garbage after the handshake closes the connection and fails the waiting command")
    func garbageReply() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let peer = try FakeUnixPeer(
            path: folder.file("q.sock"),
            script: fakeMonitor { _, connection in
                connection.send("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n")
            })
        defer { peer.stop() }
        let connection = try await connect(folder.file("q.sock"))
        do throws(QEMUError) {
            _ = try await connection.execute("query-status", timeout: .seconds(5))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .protocolViolation || error.code == .closed, "\(error)")
        }
        #expect(await eventually(timeout: .seconds(5)) { !connection.isOpen })
    }

    @Test("a GUEST_PANICKED event from a fake monitor reaches subscribers and recent events")
    func panicEvent() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let peer = try FakeUnixPeer(
            path: folder.file("q.sock"),
            script: fakeMonitor { line, connection in
                connection.send(
                    #"{"event": "GUEST_PANICKED", "data": {"action": "pause"}, "#
                        + #""timestamp": {"seconds": 1700000000, "microseconds": 5}}"# + "\n")
                if let id = commandID(line) {
                    connection.send(#"{"return": {"status": "guest-panicked", "running": false}, "id": \#(id)}"# + "\n")
                }
            })
        defer { peer.stop() }
        let connection = try await connect(folder.file("q.sock"))
        defer { connection.close() }
        let events = connection.events()
        let status = try await connection.execute("query-status", timeout: .seconds(5))
        #expect(status["status"]?.string == "guest-panicked")
        var iterator = events.makeAsyncIterator()
        let event = await iterator.next()
        #expect(event?.name == "GUEST_PANICKED")
        #expect(event?.data["action"]?.string == "pause")
        #expect(event?.timestamp != nil)
    }
}

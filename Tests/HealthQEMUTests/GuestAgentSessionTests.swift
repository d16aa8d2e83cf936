import Foundation
import HealthQEMU
import HealthTestKit
import Testing

@Suite("Guest agent sessions")
struct GuestAgentSessionTests {
    @Test("a real qemu-ga: guest-sync, guest-ping, guest-info; a blocked command is refused")
    func realAgent() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let agent = try await QEMUFixtures.startGuestAgent(socket: folder.file("qga.sock"), stateDirectory: folder.path)
        defer { agent.stop() }
        let session = try GuestAgentSession.open(path: folder.file("qga.sock"), logger: testLogger)
        defer { session.close() }
        try await session.synchronize(timeout: .seconds(30))
        let ping = try await session.execute("guest-ping", timeout: .seconds(30))
        #expect(ping == .object([:]))
        let info = try await session.execute("guest-info", timeout: .seconds(30))
        #expect(info["version"]?.string != nil)
        do throws(QEMUError) {
            _ = try await session.execute("guest-get-time", timeout: .seconds(30))
            Issue.record("guest-get-time should be blocked")
        } catch {
            #expect(error.code == .commandFailed, "\(error)")
        }
    }

    @Test("stale lines and garbage before the guest-sync echo are discarded")
    func staleLines() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("qga.sock")) { connection in
            guard let sync = connection.readLine(),
                let object = try? JSONSerialization.jsonObject(with: Data(sync.utf8)) as? [String: Any],
                let arguments = object["arguments"] as? [String: Any], let id = arguments["id"] as? NSNumber
            else { return }
            connection.send(#"{"return": 12345}"# + "\n" + "garbage\n")
            connection.send([0xFF, 0xFE, 0x0A])
            connection.send(#"{"return": {}}"# + "\n")
            connection.send(#"{"return": \#(id.intValue)}"# + "\n")
            if connection.readLine() != nil { connection.send(#"{"return": {}}"# + "\n") }
            connection.waitForClose()
        }
        defer { peer.stop() }
        let session = try GuestAgentSession.open(path: folder.file("qga.sock"), logger: testLogger)
        defer { session.close() }
        let discarded = try await session.synchronize(timeout: .seconds(30))
        #expect(discarded == 4)
        #expect(try await session.execute("guest-ping", timeout: .seconds(30)) == .object([:]))
    }

    @Test("an agent that never answers times out; one that floods is cut off")
    func silentAndFlooding() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let mute = try FakeUnixPeer(path: folder.file("mute.sock")) { $0.waitForClose() }
        defer { mute.stop() }
        let session = try GuestAgentSession.open(path: folder.file("mute.sock"), logger: testLogger)
        defer { session.close() }
        let clock = ContinuousClock()
        let start = clock.now
        do throws(QEMUError) {
            try await session.synchronize(timeout: .milliseconds(300))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
        }
        #expect(clock.now - start < .seconds(10), "bounded, no hang")

        let flood = try FakeUnixPeer(path: folder.file("flood.sock")) { connection in
            let line = Array(#"{"return": 1}"#.utf8) + [0x0A]
            var block: [UInt8] = []
            for _ in 0..<1000 { block += line }
            for _ in 0..<10000 where connection.send(block) {}
        }
        defer { flood.stop() }
        let flooded = try GuestAgentSession.open(path: folder.file("flood.sock"), logger: testLogger)
        defer { flooded.close() }
        do throws(QEMUError) {
            try await flooded.synchronize(timeout: .seconds(10))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .protocolViolation || error.code == .closed, "\(error)")
        }
    }
}

import Foundation
import HealthIO
import HealthTestKit
import Testing

@Suite("StreamSocket: connecting, deadlines and cancellation against real unix peers")
struct StreamSocketTests {
    @Test("a missing socket, a stale one and a path that does not fit each say why")
    func connectFailures() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        #expect(StreamSocket.probe(unixPath: folder.file("none.sock"))?.code == .missing)
        let stale = try FakeUnixPeer(path: folder.file("stale.sock")) { _ in }
        stale.stopKeepingFile()
        // The listener closes within one accept poll; the file stays, so connecting is refused.
        #expect(await eventually { StreamSocket.probe(unixPath: stale.path)?.code == .refused })
        #expect(StreamSocket.probe(unixPath: "/tmp/" + String(repeating: "x", count: 200))?.code == .invalid)
    }

    @Test("a silent peer is a timeout at the deadline; a raised flag cancels the wait")
    func deadlineAndCancellation() throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("mute.sock")) { $0.waitForClose() }
        defer { peer.stop() }
        let socket = try StreamSocket.connect(unixPath: peer.path)
        defer { socket.close() }
        do {
            _ = try socket.read(exactly: 4, deadline: .now.advanced(by: .milliseconds(200)), step: "waiting for a reply")
            Issue.record("a silent peer answered")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.message.contains("waiting for a reply"))
        }
        let flag = CancellationFlag()
        flag.raise()
        do {
            _ = try socket.read(exactly: 4, deadline: .now.advanced(by: .seconds(30)), cancellation: flag, step: "x")
            Issue.record("a cancelled read went on")
        } catch {
            #expect(error.code == .cancelled)
        }
    }

    @Test("a peer that hangs up mid-message is closed, with what arrived counted")
    func peerHangsUp() throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("half.sock")) { $0.send("ab") }
        defer { peer.stop() }
        let socket = try StreamSocket.connect(unixPath: peer.path)
        defer { socket.close() }
        do {
            _ = try socket.read(exactly: 4, deadline: .now.advanced(by: .seconds(10)), step: "reading")
            Issue.record("read past the end")
        } catch {
            #expect(error.code == .closed)
            #expect(error.message.contains("after 2 of 4 bytes"), "\(error)")
        }
    }

    @Test("blocking work runs on the pool and sees its caller's cancellation")
    func blockingPool() async {
        #expect(await BlockingPool.run { _ in 6 * 7 } == 42)
        let task = Task {
            await BlockingPool.run { flag in
                // Bounded: at most 10 s waiting for the cancellation below.
                for _ in 0..<1000 where !flag.isRaised { usleep(10_000) }
                return flag.isRaised
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(await task.value)
    }

    @Test("milliseconds of a duration, rounded down and saturating")
    func milliseconds() {
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(Duration.microseconds(1999).wholeMilliseconds == 1)
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
    }
}

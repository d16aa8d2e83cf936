import Foundation
import HealthIO
import HealthTestKit
import Synchronization
import Testing

/// What a ``FramedSocket`` reported, collected for assertions.
final class Recorder: Sendable {
    private let events = Mutex<(frames: [String], closed: IOError?)>(([], nil))

    func record(_ event: FramedSocket.Event) {
        events.withLock { events in
            switch event {
            case .frame(let bytes): events.frames.append(String(decoding: bytes, as: UTF8.self))
            case .closed(let error): events.closed = error
            }
        }
    }

    var frames: [String] { events.withLock { $0.frames } }
    var closed: IOError? { events.withLock { $0.closed } }
}

@Suite("FramedSocket: framing, bounds and closing against real unix peers")
struct FramedSocketTests {
    @Test("lines arriving in pieces are cut at newlines; \\r is dropped and empty lines skipped")
    func lines() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("l.sock")) { connection in
            connection.send("fir")
            usleep(20_000)
            connection.send("st\r\n\nsecond\nthi")
            usleep(20_000)
            connection.send("rd\n")
            connection.waitForClose()
        }
        defer { peer.stop() }
        let recorder = Recorder()
        let socket = try FramedSocket(unixPath: peer.path, framer: LineFramer(maxBytes: 64)) { recorder.record($0) }
        #expect(await eventually { recorder.frames.count == 3 })
        #expect(recorder.frames == ["first", "second", "third"])
        #expect(socket.isOpen)
        socket.close(IOError(.closed, "done"))
        #expect(await eventually { recorder.closed != nil })
        #expect(recorder.closed?.message == "done")
    }

    @Test("a line over the bound closes the socket with frameTooLong")
    func oversizeLine() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("big.sock")) { connection in
            connection.send("short\n" + String(repeating: "x", count: 5000))
            connection.waitForClose()
        }
        defer { peer.stop() }
        let recorder = Recorder()
        let socket = try FramedSocket(unixPath: peer.path, framer: LineFramer(maxBytes: 1024)) { recorder.record($0) }
        #expect(await eventually { recorder.closed != nil })
        #expect(recorder.closed?.code == .frameTooLong, "\(String(describing: recorder.closed))")
        #expect(!socket.isOpen)
    }

    @Test("a peer that closes is reported once, as closed")
    func peerCloses() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("c.sock")) { connection in
            connection.send("bye\n")
        }
        defer { peer.stop() }
        let recorder = Recorder()
        let socket = try FramedSocket(unixPath: peer.path, framer: LineFramer(maxBytes: 64)) { recorder.record($0) }
        #expect(await eventually { recorder.closed != nil })
        #expect(recorder.frames == ["bye"])
        #expect(recorder.closed?.code == .closed)
        // Sending on a closed socket fails instead of writing to a reused descriptor.
        let failed = await withCheckedContinuation { continuation in
            socket.send(Array("late\n".utf8), timeout: .seconds(1)) { continuation.resume(returning: $0) }
        }
        #expect(failed?.code == .closed)
    }

    @Test("sending writes whole messages the peer reads")
    func send() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("e.sock")) { connection in
            while let line = connection.readLine() { connection.send("echo " + line + "\n") }
        }
        defer { peer.stop() }
        let recorder = Recorder()
        let socket = try FramedSocket(unixPath: peer.path, framer: LineFramer(maxBytes: 64)) { recorder.record($0) }
        let error = await withCheckedContinuation { continuation in
            socket.send(Array("ping\n".utf8), timeout: .seconds(5)) { continuation.resume(returning: $0) }
        }
        #expect(error == nil)
        #expect(await eventually { recorder.frames == ["echo ping"] })
        socket.close(IOError(.closed, "done"))
    }
}

@Suite("LineFramer bounds")
struct LineFramerTests {
    @Test("a line split across feeds is joined; one over the bound is refused even without a newline")
    func lines() throws {
        var framer = LineFramer(maxBytes: 8)
        #expect(try framer.decode(Array("abc".utf8)).isEmpty)
        #expect(try framer.decode(Array("def\nxy".utf8)) == [Array("abcdef".utf8)])
        #expect(throws: IOError.self) { try framer.decode(Array("0123456789".utf8)) }
    }
}

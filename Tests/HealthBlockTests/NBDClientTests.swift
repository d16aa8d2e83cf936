import Foundation
import HealthBlock
import HealthTestKit
import Logging
import Testing

/// The NBD client against real servers (nbdkit, qemu-nbd) and fake peers for what they cannot do.
@Suite(.serialized) struct NBDClientTests {
    let logger = Logger(label: "nbd-test")

    func read(_ uri: String, timeout: Duration = .seconds(5)) async throws(NBDError) -> NBDReadResult {
        try await NBDClient.readBlock(at: try NBDAddress(parsing: uri), timeout: timeout, logger: logger)
    }

    func failure(_ uri: String, timeout: Duration = .seconds(5)) async -> NBDError? {
        do {
            _ = try await read(uri, timeout: timeout)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsBlockZeroOverAUnixSocket() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let server = try await StorageFixtures.startNBDKit(socket: folder.file("v.sock"), size: "8M")
        defer { server.stop() }
        for uri in ["nbd:unix:\(folder.file("v.sock"))", "nbd+unix:///vol-1?socket=\(folder.file("v.sock"))"] {
            let result = try await read(uri)
            #expect(result.exportSize == 8 * 1024 * 1024)
            #expect(result.bytesRead == 4096)
            #expect(result.usedOptGo)
            #expect(result.totalSeconds < 5)
        }
    }

    @Test func readsOverLoopbackTCP() async throws {
        let (server, port) = try await StorageFixtures.startNBDKitTCP(size: "1M")
        defer { server.stop() }
        let result = try await read("nbd://127.0.0.1:\(port)/vol-2")
        #expect(result.exportSize == 1024 * 1024)
        #expect(result.bytesRead == 4096)
        let legacy = try await read("nbd:127.0.0.1:\(port)")
        #expect(legacy.bytesRead == 4096)
    }

    @Test func readsFromQEMUNBD() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let image = folder.file("disk.raw")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(repeating: 7, count: 65536)))
        let server = try await StorageFixtures.startQEMUNBD(socket: folder.file("q.sock"), image: image)
        defer { server.stop() }
        let result = try await read("nbd:unix:\(folder.file("q.sock"))")
        #expect(result.exportSize == 65536)
        #expect(result.bytesRead == 4096)
        #expect(result.isReadOnly)
    }

    @Test func aSmallExportIsReadWhole() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let server = try await StorageFixtures.startNBDKit(socket: folder.file("s.sock"), size: "1024")
        defer { server.stop() }
        let result = try await read("nbd:unix:\(folder.file("s.sock"))")
        #expect(result.exportSize == 1024)
        #expect(result.bytesRead == 1024)
    }

    @Test func anErrorReplyIsReportedWithItsErrno() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let server = try await StorageFixtures.startNBDKit(
            socket: folder.file("e.sock"), filters: ["error"], arguments: ["error-pread=EIO", "error-pread-rate=100%"])
        defer { server.stop() }
        let error = try #require(await failure("nbd:unix:\(folder.file("e.sock"))"))
        #expect(error.code == .errorReply)
        #expect(error.message.contains("EIO"))
        #expect(error.isStoragePathBroken)
    }

    @Test func aStallingServerIsCutAtTheDeadline() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let server = try await StorageFixtures.startNBDKit(
            socket: folder.file("d.sock"), filters: ["delay"], arguments: ["delay-read=30"])
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(await failure("nbd:unix:\(folder.file("d.sock"))", timeout: .milliseconds(500)))
        #expect(clock.now - start < .seconds(10))
        #expect(error.code == .stalled)
        #expect(error.message.contains("read reply"))
    }

    @Test func nbdkitKilledMidReadIsAHangUp() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let server = try await StorageFixtures.startNBDKit(
            socket: folder.file("m.sock"), filters: ["delay"], arguments: ["delay-read=10"])
        defer { server.stop() }
        let uri = "nbd:unix:\(folder.file("m.sock"))"
        let path = folder.file("m.sock")
        // The readiness probe's connection first goes away, then ours shows as an accepted socket of the path.
        #expect(await eventually(timeout: .seconds(20)) { UnixSocketOwners.acceptedConnections(path: path) == 0 })
        let session = Task { await failure(uri, timeout: .seconds(20)) }
        let connected = await eventually(timeout: .seconds(20)) {
            UnixSocketOwners.acceptedConnections(path: path) > 0
        }
        #expect(connected)
        let clock = ContinuousClock()
        let start = clock.now
        server.stop()
        let error = try #require(await session.value)
        #expect(clock.now - start < .seconds(10))
        #expect(error.code == .closed, "\(error)")
        #expect(error.isStoragePathBroken)
    }

    @Test func noServerAndRefusedAreTold() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let missing = try #require(await failure("nbd:unix:\(folder.file("gone.sock"))"))
        #expect(missing.code == .noServer)
        let socket = folder.file("k.sock")
        let server = try await StorageFixtures.startNBDKit(socket: socket)
        server.stop()  // SIGKILL: the socket file stays, nobody listens
        if FileManager.default.fileExists(atPath: socket) {
            let refused = try #require(await failure("nbd:unix:\(socket)"))
            #expect(refused.code == .refused)
        }
        let port = try StorageFixtures.freeLoopbackPort()
        let tcp = try #require(await failure("nbd://127.0.0.1:\(port)/x"))
        #expect(tcp.code == .refused)
    }

    @Test func garbageIsAProtocolViolation() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("g.sock")) { connection in
            _ = connection.send("SSH-2.0-OpenSSH_9.2\r\nnot nbd at all\r\n")
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { peer.stop() }
        let error = try #require(await failure("nbd:unix:\(folder.file("g.sock"))"))
        #expect(error.code == .protocolViolation)
        #expect(error.isStoragePathBroken)
    }

    @Test func aSilentPeerStallsTheGreeting() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("q.sock")) { connection in
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { peer.stop() }
        let error = try #require(await failure("nbd:unix:\(folder.file("q.sock"))", timeout: .milliseconds(300)))
        #expect(error.code == .stalled)
        #expect(error.message.contains("greeting"))
    }

    @Test func cancellationEndsTheSession() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbd")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("c.sock")) { connection in
            connection.waitForClose(timeout: .seconds(10))
        }
        defer { peer.stop() }
        let uri = "nbd:unix:\(folder.file("c.sock"))"
        let task = Task { await failure(uri, timeout: .seconds(30)) }
        #expect(await eventually(timeout: .seconds(5)) { peer.connections > 0 })
        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        let error = await task.value
        #expect(clock.now - start < .seconds(2))
        #expect(error?.code == .cancelled)
    }
}

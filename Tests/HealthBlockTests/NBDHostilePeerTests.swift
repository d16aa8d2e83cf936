import Foundation
import HealthBlock
import HealthTestKit
import Logging
import Testing

/// Reads exactly `count` bytes from a fake peer's connection within `timeout`; nil on close or timeout.
func readBytes(_ connection: FakeUnixPeer.Connection, _ count: Int, timeout: Duration = .seconds(5)) -> [UInt8]? {
    connection.read(exactly: count, timeout: timeout)
}

func bigEndian(_ value: UInt64, _ width: Int) -> [UInt8] {
    (0..<width).reversed().map { UInt8((value >> (8 * UInt64($0))) & 0xff) }
}

/// NBDMAGIC, IHAVEOPT, fixed newstyle + no zeroes.
let newstyleGreeting = Array("NBDMAGIC".utf8) + Array("IHAVEOPT".utf8) + [0, 3]

/// An option reply header for NBD_OPT_GO.
func optionReply(type: UInt32, length: UInt32) -> [UInt8] {
    bigEndian(0x0003_e889_0455_65a9, 8) + bigEndian(7, 4) + bigEndian(UInt64(type), 4) + bigEndian(UInt64(length), 4)
}

/// NBD peers that misbehave in ways nbdkit cannot be made to, and the server refusing an export.
@Suite(.serialized) struct NBDHostilePeerTests {
    let logger = Logger(label: "nbd-hostile", factory: { _ in SwiftLogNoOpLogHandler() })

    func failure(_ path: String, export: String = "", timeout: Duration = .seconds(3)) async -> NBDError? {
        do {
            _ = try await NBDClient.readBlock(
                at: NBDAddress(endpoint: .unix(path: path), exportName: export), timeout: timeout, logger: logger)
            return nil
        } catch {
            return error
        }
    }

    @Test func anOversizedOptionReplyIsRefusedWithoutReadingIt() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdh")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("big.sock")) { connection in
            connection.send(newstyleGreeting)
            guard readBytes(connection, 4) != nil, readBytes(connection, 16) != nil else { return }
            connection.send(optionReply(type: 3, length: 0xffff_fff0))
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { peer.stop() }
        let error = try #require(await failure(folder.file("big.sock")))
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("over 64 KiB"), "\(error)")
    }

    @Test func silenceAfterTheOptionIsAStall() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdh")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("mute.sock")) { connection in
            connection.send(newstyleGreeting)
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { peer.stop() }
        let error = try #require(await failure(folder.file("mute.sock"), timeout: .milliseconds(300)))
        #expect(error.code == .stalled)
        #expect(error.message.contains("NBD_OPT_GO"), "\(error)")
    }

    @Test func anOldstyleServerIsAProtocolViolation() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdh")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("old.sock")) { connection in
            let oldstyle = Array("NBDMAGIC".utf8) + bigEndian(0x0000_4202_8186_1253, 8)
            connection.send(oldstyle + [UInt8](repeating: 0, count: 140))
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { peer.stop() }
        let error = try #require(await failure(folder.file("old.sock")))
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("oldstyle"), "\(error)")
    }

    @Test func aServerWithoutOptGoIsReadThroughExportName() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdh")
        defer { folder.remove() }
        let peer = try FakeUnixPeer(path: folder.file("legacy.sock")) { connection in
            connection.send(newstyleGreeting)
            guard readBytes(connection, 4) != nil, let header = readBytes(connection, 16) else { return }
            let length = Int(header[12...15].reduce(0) { $0 << 8 | UInt32($1) })
            guard readBytes(connection, length) != nil else { return }
            connection.send(optionReply(type: 0x8000_0001, length: 0))  // NBD_REP_ERR_UNSUP
            guard let export = readBytes(connection, 16) else { return }  // IHAVEOPT, NBD_OPT_EXPORT_NAME, length
            let nameLength = Int(export[12...15].reduce(0) { $0 << 8 | UInt32($1) })
            if nameLength > 0 { _ = readBytes(connection, nameLength) }
            connection.send(bigEndian(8192, 8) + [0, 1])  // size, flags (no zeroes were negotiated)
            guard let request = readBytes(connection, 28) else { return }
            let length4 = Int(request[24...27].reduce(0) { $0 << 8 | UInt32($1) })
            connection.send(bigEndian(0x6744_6698, 4) + [0, 0, 0, 0] + Array(request[8..<16]))
            connection.send([UInt8](repeating: 0x5a, count: length4))
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { peer.stop() }
        let result = try await NBDClient.readBlock(
            at: NBDAddress(endpoint: .unix(path: folder.file("legacy.sock")), exportName: "vol"),
            timeout: .seconds(20), logger: logger)
        #expect(result.exportSize == 8192)
        #expect(result.bytesRead == 4096)
        #expect(!result.usedOptGo)
    }

    @Test func anUnknownExportIsRefusedByARealServer() async throws {
        let folder = try ShortTemporaryFolder(prefix: "nbdh")
        defer { folder.remove() }
        let socket = folder.file("named.sock")
        let server = try await StorageFixtures.startNBDKit(
            socket: socket, filters: ["exportname"], arguments: ["exportname=vol-1", "exportname-strict=true"])
        defer { server.stop() }
        let result = try await NBDClient.readBlock(
            at: NBDAddress(parsing: "nbd+unix:///vol-1?socket=\(socket)"), timeout: .seconds(20), logger: logger)
        #expect(result.bytesRead == 4096)
        let error = try #require(await failure(socket, export: "vol-2"))
        #expect(error.code == .optionRefused)
        #expect(error.isStoragePathBroken)
        #expect(error.message.contains("vol-2"), "\(error)")
    }
}

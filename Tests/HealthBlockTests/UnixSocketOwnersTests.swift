import Foundation
import HealthBlock
import HealthTestKit
import Testing

@Suite(.serialized) struct UnixSocketOwnersTests {
    @Test func findsTheNBDKitServingASocketThenNothingOnceItIsKilled() async throws {
        let folder = try ShortTemporaryFolder(prefix: "own")
        defer { folder.remove() }
        let socket = folder.file("vol.sock")
        let nbdkit = try await StorageFixtures.startNBDKit(socket: socket)
        defer { nbdkit.stop() }
        let inodes = UnixSocketOwners.listeningInodes(path: socket)
        #expect(inodes.count == 1)
        let owners = UnixSocketOwners.owners(of: inodes)
        #expect(owners.map(\.pid) == [nbdkit.pid])
        #expect(owners.first?.command == "nbdkit")
        nbdkit.stop()
        #expect(FileManager.default.fileExists(atPath: socket))
        #expect(UnixSocketOwners.listeningInodes(path: socket).isEmpty)
        #expect(UnixSocketOwners.owners(of: []).isEmpty)
    }

    @Test func parsesProcNetUnixListenersOnly() throws {
        let root = try ShortTemporaryFolder(prefix: "proc")
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: root.file("net"), withIntermediateDirectories: true)
        let table = """
            Num       RefCount Protocol Flags    Type St Inode Path
            0000000000000000: 00000002 00000000 00010000 0001 01 4242 /run/vol 1.sock
            0000000000000000: 00000003 00000000 00000000 0001 03 4243 /run/vol 1.sock
            0000000000000000: 00000002 00000000 00010000 0001 01 4244 /run/other.sock
            0000000000000000: 00000002 00000000 00010000 0001 01 4245 @abstract
            garbage line
            """
        try table.write(toFile: root.file("net/unix"), atomically: true, encoding: .utf8)
        #expect(UnixSocketOwners.listeningInodes(path: "/run/vol 1.sock", procRoot: root.path) == [4242])
        #expect(UnixSocketOwners.listeningInodes(path: "/run/none.sock", procRoot: root.path).isEmpty)
        #expect(UnixSocketOwners.listeningInodes(path: "/x", procRoot: root.file("missing")).isEmpty)
    }
}

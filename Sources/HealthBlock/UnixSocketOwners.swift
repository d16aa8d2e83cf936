import Foundation
import HealthIO

/// Who serves a unix socket: the listening sockets bound to a path (`/proc/net/unix`) and the processes holding
/// them (`/proc/<pid>/fd/* -> socket:[inode]`). Reads are bounded; `procRoot` is `/proc` or a fixture tree.
public enum UnixSocketOwners {
    /// The most of `/proc/net/unix` read.
    public static let maxTableBytes = 16 << 20
    /// The most processes and descriptors per process looked at.
    public static let maxProcesses = 65536
    public static let maxDescriptorsPerProcess = 65536

    /// A process serving a socket.
    public struct Owner: Sendable, Hashable {
        public var pid: Int32
        /// `/proc/<pid>/comm`, e.g. `nbdkit`.
        public var command: String
    }

    /// The inodes of the sockets listening on `path` (nobody listens: empty).
    public static func listeningInodes(path: String, procRoot: String = "/proc") -> Set<UInt64> {
        Set(sockets(boundTo: path, procRoot: procRoot).filter(\.listening).map(\.inode))
    }

    /// How many connections a server accepted on `path` (sockets bound to the path that are not listening).
    public static func acceptedConnections(path: String, procRoot: String = "/proc") -> Int {
        sockets(boundTo: path, procRoot: procRoot).filter { !$0.listening }.count
    }

    private static func sockets(boundTo path: String, procRoot: String) -> [(inode: UInt64, listening: Bool)] {
        guard let table = readBounded(procRoot + "/net/unix", limit: maxTableBytes) else { return [] }
        var sockets: [(inode: UInt64, listening: Bool)] = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: true)
            guard fields.count == 8, fields[7] == path, let flags = UInt32(fields[3], radix: 16),
                let inode = UInt64(fields[6])
            else { continue }
            sockets.append((inode, flags & 0x10000 != 0))
        }
        return sockets
    }

    /// The processes holding any of `inodes` open; stops once every inode has an owner. Processes whose command
    /// starts with one of `likely` (nbdkit) are looked at first, so the usual case reads few descriptor tables.
    public static func owners(of inodes: Set<UInt64>, procRoot: String = "/proc", likely: [String] = ["nbdkit"])
        -> [Owner]
    {
        guard !inodes.isEmpty else { return [] }
        let wanted = Set(inodes.map { "socket:[\($0)]" })
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: procRoot)) ?? [])
            .prefix(maxProcesses).compactMap { Int32($0) }
        var commands: [Int32: String] = [:]
        for pid in entries {
            commands[pid] = readBounded(procRoot + "/\(pid)/comm", limit: 256)?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        }
        let first = entries.filter { pid in likely.contains { commands[pid]?.hasPrefix($0) == true } }
        let rest = entries.filter { pid in !likely.contains { commands[pid]?.hasPrefix($0) == true } }
        var found: [Owner] = []
        var seen: Set<String> = []
        for pid in first + rest {
            let folder = procRoot + "/\(pid)/fd"
            guard let descriptors = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for descriptor in descriptors.prefix(maxDescriptorsPerProcess) {
                let link = folder + "/" + descriptor
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link),
                    wanted.contains(target), !seen.contains(target)
                else { continue }
                found.append(Owner(pid: pid, command: commands[pid] ?? "?"))
                seen.insert(target)
                break
            }
            if seen.count == wanted.count { break }
        }
        return found
    }

    /// The first `limit` bytes of `path` as text, nil when it cannot be read.
    static func readBounded(_ path: String, limit: Int) -> String? {
        (try? BoundedFile.prefix(path, limit: limit)).map { String(decoding: $0, as: UTF8.self) }
    }
}

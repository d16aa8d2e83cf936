import Foundation
import HealthIO

/// A block device of the host: its size by `ioctl(BLKGETSIZE64)`, and what sysfs says about kernel NBD devices and
/// dm-multipath maps. `sysRoot` is `/sys` or a fixture tree.
public enum BlockDevice {
    /// `_IOR(0x12, 114, size_t)`: a macro Swift does not import.
    static let blkGetSize64: UInt = 0x8008_1272

    /// The size in bytes of the block device at `path`; opened read-only and non-blocking, nothing is read.
    public static func size(path: String) -> Result<UInt64, BlockDeviceError> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(BlockDeviceError("\(path): \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFBLK else {
            return .failure(BlockDeviceError("\(path) is not a block device"))
        }
        var bytes: UInt64 = 0
        guard ioctl(fd, blkGetSize64, &bytes) == 0 else {
            return .failure(BlockDeviceError("\(path): BLKGETSIZE64: \(String(cString: strerror(errno)))"))
        }
        return .success(bytes)
    }

    /// A kernel NBD device as sysfs shows it.
    public struct NBDState: Sendable, Hashable {
        public var name: String
        /// The pid of the process that set the device up (`/sys/block/nbdX/pid`); nil: not connected.
        public var pid: Int32?
        /// `/sys/block/nbdX/size`, in 512-byte sectors.
        public var sectors: UInt64?
    }

    /// `nbd*` devices under `sysRoot/block`, with their pid and size.
    public static func nbdDevices(sysRoot: String = "/sys", limit: Int = 1024) -> [NBDState] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sysRoot + "/block")) ?? []
        return names.filter { $0.hasPrefix("nbd") }.sorted().prefix(limit).map { nbdState($0, sysRoot: sysRoot) }
    }

    /// What sysfs says about `name` (e.g. `nbd0`).
    public static func nbdState(_ name: String, sysRoot: String = "/sys") -> NBDState {
        let folder = sysRoot + "/block/" + name
        return NBDState(
            name: name, pid: readSmall(folder + "/pid").flatMap { Int32($0) },
            sectors: readSmall(folder + "/size").flatMap { UInt64($0) })
    }

    /// A dm-multipath map and the state of each of its paths.
    public struct MultipathMap: Sendable, Hashable {
        public var name: String
        /// `/sys/block/dm-N/dm/name`, e.g. `mpatha`.
        public var alias: String
        /// Each path (a slave block device) and its SCSI device state (`running`, `offline`, `blocked`...).
        public var paths: [String: String]

        /// The paths whose device is not `running`.
        public var failedPaths: [String] { paths.filter { $0.value != "running" }.map(\.key).sorted() }
    }

    /// The dm-multipath maps under `sysRoot/block` (a dm device whose uuid starts with `mpath-`).
    public static func multipathMaps(sysRoot: String = "/sys", limit: Int = 1024) -> [MultipathMap] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sysRoot + "/block")) ?? []
        var maps: [MultipathMap] = []
        for name in names.filter({ $0.hasPrefix("dm-") }).sorted().prefix(limit) {
            let folder = sysRoot + "/block/" + name
            guard readSmall(folder + "/dm/uuid")?.hasPrefix("mpath-") == true else { continue }
            let slaves = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/slaves")) ?? []
            var paths: [String: String] = [:]
            for slave in slaves.sorted().prefix(64) {
                paths[slave] = readSmall(sysRoot + "/block/" + slave + "/device/state") ?? "unknown"
            }
            maps.append(MultipathMap(name: name, alias: readSmall(folder + "/dm/name") ?? name, paths: paths))
        }
        return maps
    }

    /// A short sysfs file, trimmed; nil when missing.
    static func readSmall(_ path: String) -> String? {
        guard let data = try? BoundedFile.prefix(path, limit: 4096) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

/// Why a block device could not be looked at (missing, not a block device, no permission, ioctl refused).
public struct BlockDeviceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

import Foundation
import HealthBlock
import HealthTestKit
import Testing

@Suite(.serialized) struct BlockDeviceTests {
    /// Runs `losetup` with `arguments`; its standard output, trimmed.
    func losetup(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ChildProcess.which("losetup") ?? "/sbin/losetup")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw POSIXError(.EIO) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func blkGetSize64OnALoopDevice() async throws {
        let folder = try ShortTemporaryFolder(prefix: "blk")
        defer { folder.remove() }
        let image = folder.file("disk.img")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 3 * 1024 * 1024)))
        let device = try losetup(["--find", "--show", "--read-only", image])
        defer { _ = try? losetup(["--detach", device]) }
        #expect(try BlockDevice.size(path: device).get() == 3 * 1024 * 1024)
        // Not ATA: libatasmart (after the power-mode ioctl is refused) finds no SMART on it.
        let reading = await SMARTReader.read(device: device)
        guard case .success(.unsupported) = reading else {
            Issue.record("SMART on a loop device: \(reading)")
            return
        }
        guard case .failure = await SMARTReader.read(device: folder.file("none")) else {
            Issue.record("SMART on a missing device did not fail")
            return
        }
        #expect(throws: BlockDeviceError.self) { try BlockDevice.size(path: image).get() }
        #expect(throws: BlockDeviceError.self) { try BlockDevice.size(path: folder.file("none")).get() }
    }

    @Test func nbdAndMultipathFromSysfs() throws {
        let root = try ShortTemporaryFolder(prefix: "sys")
        defer { root.remove() }
        func write(_ relative: String, _ text: String) throws {
            let path = root.path + "/" + relative
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write("block/nbd0/pid", "1234\n")
        try write("block/nbd0/size", "2048\n")
        try write("block/nbd1/size", "0\n")
        try write("block/dm-0/dm/uuid", "mpath-3600a098\n")
        try write("block/dm-0/dm/name", "mpatha\n")
        try write("block/dm-0/slaves/sdb/x", "")
        try write("block/dm-0/slaves/sdc/x", "")
        try write("block/sdb/device/state", "running\n")
        try write("block/sdc/device/state", "offline\n")
        try write("block/dm-1/dm/uuid", "LVM-abc\n")
        let devices = BlockDevice.nbdDevices(sysRoot: root.path)
        #expect(devices.map(\.name) == ["nbd0", "nbd1"])
        #expect(devices[0].pid == 1234 && devices[0].sectors == 2048)
        #expect(devices[1].pid == nil)
        let maps = BlockDevice.multipathMaps(sysRoot: root.path)
        #expect(maps.count == 1)
        #expect(maps.first?.alias == "mpatha")
        #expect(maps.first?.failedPaths == ["sdc"])
    }
}

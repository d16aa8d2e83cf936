import Foundation

/// A writer of the cpio "newc" format (`070701`), the format the Linux kernel unpacks as an initramfs.
///
/// Directories, regular files and symbolic links, owned by root, written in the order they are added (a directory
/// before what it holds). ``finish()`` writes the `TRAILER!!!` entry and closes the file.
public final class NewcArchive {
    private let handle: FileHandle
    private var inode: UInt32 = 1

    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw HiveInstanceLauncher.Failure("cannot create \(path)")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    public func directory(_ name: String, mode: UInt32 = 0o755) throws {
        try entry(name, mode: 0o040000 | mode, data: Data())
    }

    public func file(_ name: String, contents: Data, mode: UInt32 = 0o644) throws {
        try entry(name, mode: 0o100000 | mode, data: contents)
    }

    public func symlink(_ name: String, target: String) throws {
        try entry(name, mode: 0o120000 | 0o777, data: Data(target.utf8))
    }

    /// Adds every file, directory and symbolic link under `root` (a host folder) as `/`-relative names.
    public func tree(_ root: String) throws {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: root) else {
            throw HiveInstanceLauncher.Failure("cannot read \(root)")
        }
        var names: [String] = []
        while let name = enumerator.nextObject() as? String { names.append(name) }
        for name in names.sorted() {
            let path = root + "/" + name
            let attributes = try manager.attributesOfItem(atPath: path)
            let permissions = UInt32((attributes[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644) & 0o7777
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?: try directory(name, mode: permissions)
            case .typeSymbolicLink?: try symlink(name, target: try manager.destinationOfSymbolicLink(atPath: path))
            case .typeRegular?:
                try file(name, contents: try Data(contentsOf: URL(fileURLWithPath: path)), mode: permissions)
            default: continue
            }
        }
    }

    public func finish() throws {
        try entry("TRAILER!!!", mode: 0, data: Data(), inode: 0)
        try handle.close()
    }

    private func entry(_ name: String, mode: UInt32, data: Data, inode fixed: UInt32? = nil) throws {
        let number = fixed ?? inode
        if fixed == nil { inode += 1 }
        let nameBytes = Array(name.utf8) + [0]
        let fields: [UInt32] = [
            number, mode, 0, 0, mode & 0o040000 != 0 ? 2 : 1, 0, UInt32(data.count), 0, 0, 0, 0,
            UInt32(nameBytes.count), 0,
        ]
        var header = Data("070701".utf8)
        for field in fields { header += Data(String(format: "%08X", field).utf8) }
        header += nameBytes
        header += Data(count: Self.padding(header.count))
        try handle.write(contentsOf: header)
        try handle.write(contentsOf: data)
        try handle.write(contentsOf: Data(count: Self.padding(data.count)))
    }

    private static func padding(_ count: Int) -> Int { (4 - count % 4) % 4 }
}

import Foundation
import HealthIO

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The POSIX steps of an atomic, durable file replacement, with errors that name the path and the cause.
enum StateFile {
    enum ReadFailure: Error, CustomStringConvertible {
        case tooLarge
        case unreadable(String)

        var description: String {
            switch self {
            case .tooLarge: "too large"
            case .unreadable(let message): message
            }
        }
    }

    /// The file's bytes, or nil when there is no file.
    static func read(_ path: String, limit: Int) throws(ReadFailure) -> [UInt8]? {
        do throws(IOError) {
            return try BoundedFile.read(path, limit: limit)
        } catch {
            switch error.code {
            case .missing: return nil
            case .tooLarge: throw .tooLarge
            default: throw .unreadable(error.message)
            }
        }
    }

    /// Creates the directory (mode 0700) and its parents when missing.
    static func ensureDirectory(_ directory: String) throws(StateStoreError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StateStoreError(.io, "\(directory) exists and is not a directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StateStoreError(.io, "cannot create \(directory): \(error.localizedDescription)")
        }
    }

    /// Writes a new file (mode 0600) and `fsync`s it before returning.
    static func writeDurably(_ bytes: [UInt8], to path: String) throws(StateStoreError) {
        try writeDurably(to: path) { (write) throws(StateStoreError) in try write(bytes) }
    }

    /// Writes a new file (mode 0600) from pieces `produce` hands to `write`, and `fsync`s it before returning.
    static func writeDurably(
        to path: String,
        _ produce: (_ write: ([UInt8]) throws(StateStoreError) -> Void) throws(StateStoreError) -> Void
    ) throws(StateStoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateStoreError(.io, "cannot create \(path): \(describe(errno))") }
        do throws(StateStoreError) {
            try produce { (bytes) throws(StateStoreError) in try writeAll(bytes, fd: fd, path: path) }
        } catch {
            close(fd)
            throw error
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw StateStoreError(.io, "cannot fsync \(path): \(describe(code))")
        }
        guard close(fd) == 0 else { throw StateStoreError(.io, "cannot close \(path): \(describe(errno))") }
    }

    /// Appends to a file (created with mode 0600 when missing) and `fsync`s it before returning.
    static func appendDurably(_ bytes: [UInt8], to path: String) throws(StateStoreError) {
        try appendDurably(to: path) { (write) throws(StateStoreError) in try write(bytes) }
    }

    /// Appends pieces `produce` hands to `write` (the file created with mode 0600 when missing) and `fsync`s it before
    /// returning.
    static func appendDurably(
        to path: String,
        _ produce: (_ write: ([UInt8]) throws(StateStoreError) -> Void) throws(StateStoreError) -> Void
    ) throws(StateStoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateStoreError(.io, "cannot open \(path): \(describe(errno))") }
        defer { close(fd) }
        try produce { (bytes) throws(StateStoreError) in try writeAll(bytes, fd: fd, path: path) }
        guard fdatasync(fd) == 0 else { throw StateStoreError(.io, "cannot fsync \(path): \(describe(errno))") }
    }

    private static func writeAll(_ bytes: [UInt8], fd: Int32, path: String) throws(StateStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw StateStoreError(.io, "cannot write \(path): \(describe(errno))")
            }
            offset += written
        }
    }

    static func rename(_ source: String, over target: String) throws(StateStoreError) {
        guard systemRename(source, target) == 0 else {
            throw StateStoreError(.io, "cannot rename \(source) to \(target): \(describe(errno))")
        }
    }

    /// `fsync`s a directory so a rename in it is durable; file systems that cannot sync directories are accepted.
    static func syncDirectory(_ directory: String) throws(StateStoreError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StateStoreError(.io, "cannot open \(directory): \(describe(errno))") }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL else {
            throw StateStoreError(.io, "cannot fsync \(directory): \(describe(errno))")
        }
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}

private func systemRename(_ source: String, _ target: String) -> Int32 {
    rename(source, target)
}

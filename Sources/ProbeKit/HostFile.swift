#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file of the host (`/proc`, `/sys`, a pid file) could not be read.
public struct HostFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for callers that branch on it.
    public enum Code: String, Sendable, Hashable {
        /// The file or a directory on its path does not exist.
        case missing
        case permissionDenied
        /// The file is larger than the reader accepts.
        case tooLarge
        /// A directory, FIFO, socket or device where a regular file was expected.
        case notRegularFile
        /// The bytes are not UTF-8 text.
        case notText
        /// Any other error of open/read.
        case unreadable
        /// The text is not in the file's format (a `/proc` file the parser does not understand).
        case malformed
    }

    public var code: Code
    public var path: String
    public var detail: String

    public init(_ code: Code, path: String, detail: String = "") {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String {
        switch code {
        case .missing: "\(path): no such file"
        case .permissionDenied: "\(path): permission denied"
        case .tooLarge: "\(path): larger than \(detail) bytes"
        case .notRegularFile: "\(path): not a regular file"
        case .notText: "\(path): not UTF-8 text"
        case .unreadable, .malformed: "\(path): \(detail)"
        }
    }

    static func fromErrno(_ value: Int32, path: String) -> HostFileError {
        switch value {
        case ENOENT, ENOTDIR, ESRCH: HostFileError(.missing, path: path)
        case EACCES, EPERM: HostFileError(.permissionDenied, path: path)
        default: HostFileError(.unreadable, path: path, detail: String(cString: strerror(value)))
        }
    }
}

/// Bounded reads of host files: `/proc` and `/sys` report a size of 0, so files are read to EOF up to a limit.
public enum HostFile {
    /// The most any probe reads of one `/proc` or `/sys` file.
    public static let defaultLimit = 1 << 20

    /// The text of `path`, at most `limit` bytes; a larger file is an error, never a partial read.
    public static func text(_ path: String, limit: Int = defaultLimit) -> Result<String, HostFileError> {
        switch bytes(path, limit: limit) {
        case .failure(let error):
            return .failure(error)
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(HostFileError(.notText, path: path))
            }
            return .success(text)
        }
    }

    /// The bytes of `path`, at most `limit`.
    public static func bytes(_ path: String, limit: Int = defaultLimit) -> Result<[UInt8], HostFileError> {
        // O_NONBLOCK so a FIFO planted where a file should be cannot hang the probe in open(2).
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return .failure(.fromErrno(errno, path: path)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(.fromErrno(errno, path: path)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .failure(HostFileError(.notRegularFile, path: path)) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.fromErrno(errno, path: path))
            }
            if count == 0 { break }
            output.append(contentsOf: chunk[0..<count])
            if output.count > limit { return .failure(HostFileError(.tooLarge, path: path, detail: String(limit))) }
        }
        return .success(output)
    }

    /// The names in directory `path` (without `.` and `..`), sorted, at most `limit` of them.
    public static func directoryEntries(_ path: String, limit: Int = 65536) -> Result<[String], HostFileError> {
        guard let directory = opendir(path) else { return .failure(.fromErrno(errno, path: path)) }
        defer { closedir(directory) }
        var names: [String] = []
        while names.count < limit, let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names.sorted())
    }

    /// A small sysfs file holding one decimal integer (a temperature, a counter).
    public static func integer(_ path: String) -> Result<Int64, SensorFileError> {
        switch text(path, limit: 4096) {
        case .failure(let error):
            return .failure(SensorFileError(description: "\(error)", missing: error.code == .missing))
        case .success(let text):
            guard let value = Int64(text.trimmed) else {
                return .failure(SensorFileError(description: "\(path): not an integer: '\(text.trimmed.prefix(32))'"))
            }
            return .success(value)
        }
    }

    /// True when `path` exists (any type).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Names in `path` that are `prefix` followed by a decimal number, sorted by that number.
    public static func numberedEntries(_ path: String, prefix: String, limit: Int = 65536)
        -> Result<[String], HostFileError>
    {
        directoryEntries(path, limit: limit).map { names in
            names.compactMap { name -> (String, Int)? in
                guard name.hasPrefix(prefix), let number = Int(name.dropFirst(prefix.count)), number >= 0 else {
                    return nil
                }
                return (name, number)
            }
            .sorted { $0.1 < $1.1 }
            .map(\.0)
        }
    }
}

/// A sensor or counter file that could not be used.
public struct SensorFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The file does not exist (a sensor this hardware does not have, not a fault).
    public var missing = false

    public init(description: String, missing: Bool = false) {
        self.description = description
        self.missing = missing
    }
}

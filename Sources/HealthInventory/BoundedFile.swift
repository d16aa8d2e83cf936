#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads whole files with a size bound, including `/proc` files whose `stat` size is 0.
enum BoundedFile {
    enum Failure: Error {
        case open(errno: Int32)
        case read(errno: Int32)
        case tooLarge(limit: Int)
    }

    /// The file's bytes; fails when it holds more than `limit` bytes.
    static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .open(errno: errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                systemRead(fd, buffer.baseAddress, buffer.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .read(errno: errno)
            }
            if count == 0 { return result }
            guard result.count + count <= limit else { throw .tooLarge(limit: limit) }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    static func describe(_ failure: Failure, path: String) -> String {
        switch failure {
        case .open(let code): "cannot open \(path): \(String(cString: strerror(code)))"
        case .read(let code): "cannot read \(path): \(String(cString: strerror(code)))"
        case .tooLarge(let limit): "\(path) is larger than \(limit) bytes"
        }
    }
}

// `read` is shadowed by the static method above inside the enum.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

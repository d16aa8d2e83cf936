#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Reads whole files with a size bound, `/proc` and sysfs files included (their `stat` size is 0 and each `read`
/// hands out a page or so): the one bounded file read of hive-health.
public enum BoundedFile {
    /// The file's bytes. A file larger than `limit` is ``IOError/Code/tooLarge`` (checked with `fstat` before
    /// reading when the size is known); a missing one ``IOError/Code/missing``.
    public static func read(_ path: String, limit: Int) throws(IOError) -> [UInt8] {
        try read(path, limit: limit, truncating: false)
    }

    /// The first `limit` bytes of the file (all of it when smaller).
    public static func prefix(_ path: String, limit: Int) throws(IOError) -> [UInt8] {
        try read(path, limit: limit, truncating: true)
    }

    private static func read(_ path: String, limit: Int, truncating: Bool) throws(IOError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open", path) }
        defer { close(fd) }
        var status = stat()
        if !truncating, fstat(fd, &status) == 0, Int(status.st_size) > limit { throw tooLarge(path, limit) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(256 * 1024, max(1, limit + 1)))
        while true {
            let wanted = truncating ? min(chunk.count, limit - result.count) : chunk.count
            if wanted == 0 { return result }
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read", path)
            }
            if count == 0 { return result }
            guard result.count + count <= limit else { throw tooLarge(path, limit) }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    private static func failure(_ what: String, _ path: String) -> IOError {
        let code = errno
        return IOError(IOError.Code(errno: code), "\(what) \(path): \(IOError.text(errno: code))")
    }

    private static func tooLarge(_ path: String, _ limit: Int) -> IOError {
        IOError(.tooLarge, "\(path) is larger than \(limit) bytes")
    }
}

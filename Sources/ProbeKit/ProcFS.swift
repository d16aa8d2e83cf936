/// The fields of `/proc/meminfo`, in bytes for the `kB` ones.
public struct MemInfo: Sendable, Hashable {
    public var fields: [String: UInt64]

    /// Parses `Name:   value kB` lines; lines that are not of that shape are skipped, values that overflow are errors.
    public init(parsing text: String, path: String = "/proc/meminfo") throws(HostFileError) {
        var fields: [String: UInt64] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let parts = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
            guard let first = parts.first, let number = UInt64(first) else { continue }
            var value = number
            if parts.count > 1, parts[1] == "kB" {
                let (product, overflow) = number.multipliedReportingOverflow(by: 1024)
                guard !overflow else {
                    throw HostFileError(.malformed, path: path, detail: "value of \(name) overflows")
                }
                value = product
            }
            fields[name] = value
        }
        self.fields = fields
    }

    public subscript(name: String) -> UInt64? { fields[name] }

    /// `MemAvailable`, else the older estimate `MemFree + Buffers + Cached` (kernels before 3.14).
    public var available: UInt64? {
        if let available = fields["MemAvailable"] { return available }
        guard let free = fields["MemFree"], let buffers = fields["Buffers"], let cached = fields["Cached"] else {
            return nil
        }
        return free &+ buffers &+ cached
    }
}

/// The fields of `/proc/<pid>/stat` the probes use.
public struct ProcessStat: Sendable, Hashable {
    public var pid: Int
    /// The command name between the parentheses (it may itself contain spaces and parentheses).
    public var comm: String
    /// One letter: R, S, D, Z, T, t, X, I...
    public var state: Character
    /// User and system CPU time, in clock ticks.
    public var utime: UInt64
    public var stime: UInt64
    public var threads: Int
    /// Start time after boot in clock ticks: with the pid, it identifies one process across pid reuse.
    public var startTime: UInt64
    public var rssPages: Int64

    /// Parses one line of `/proc/<pid>/stat`, reading the fields after the last `)`.
    public init(parsing text: String, path: String) throws(HostFileError) {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else {
            throw HostFileError(.malformed, path: path, detail: "no '(comm)' field")
        }
        guard let pid = Int(text[..<open].trimmed) else {
            throw HostFileError(.malformed, path: path, detail: "no pid before '('")
        }
        let rest = text[text.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard rest.count >= 22 else {
            throw HostFileError(.malformed, path: path, detail: "\(rest.count + 2) fields, expected at least 24")
        }
        guard rest[0].count == 1, let state = rest[0].first, state.isLetter else {
            throw HostFileError(.malformed, path: path, detail: "bad state field '\(rest[0].prefix(8))'")
        }
        guard let utime = UInt64(rest[11]), let stime = UInt64(rest[12]), let threads = Int(rest[17]),
            let startTime = UInt64(rest[19]), let rss = Int64(rest[21])
        else {
            throw HostFileError(
                .malformed, path: path, detail: "non-numeric utime/stime/threads/starttime/rss field")
        }
        self.pid = pid
        self.comm = String(text[text.index(after: open)..<close])
        self.state = state
        self.utime = utime
        self.stime = stime
        self.threads = threads
        self.startTime = startTime
        self.rssPages = rss
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines.
    public var trimmed: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
internal import CNetworkShim
import Foundation
import HealthIO

/// QEMU's exit seen through the process itself, without any monitor: a pidfd (pidfd_open(2)) on the pid from its
/// pid file becomes readable the moment the process exits.
public enum QEMUProcessWatch {
    /// What the pid file and the pidfd say.
    public enum State: Sendable, Hashable {
        /// The process runs.
        case running(pid: Int32)
        /// The process has exited (the pidfd is readable, or no such process).
        case exited(pid: Int32)
        /// The pid file cannot be read or holds no pid (with the reason).
        case noPID(String)
        /// pidfd_open is not available (kernel before 5.3) or failed otherwise.
        case unavailable(String)
    }

    /// The pid in a pid file (QEMU's `-pidfile`), at most 64 bytes read.
    public static func pid(fromFile path: String) -> Result<Int32, QEMUError> {
        guard let data = try? BoundedFile.prefix(path, limit: 64) else {
            return .failure(QEMUError(.missing, "cannot read the pid file \(path)"))
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 0 else {
            return .failure(QEMUError(.protocolViolation, "the pid file \(path) holds no pid: '\(text.prefix(20))'"))
        }
        return .success(pid)
    }

    /// A pidfd, or why there is none to watch.
    public enum Opened: Sendable, Hashable {
        /// The descriptor (the caller closes it).
        case watching(Int32)
        /// No descriptor: the process has exited, or pidfds are unavailable.
        case notWatchable(State)
    }

    /// Opens a pidfd on `pid`.
    public static func open(pid: Int32) -> Opened {
        let fd = hive_health_pidfd_open(pid)
        if fd >= 0 { return .watching(fd) }
        let error = errno
        if error == ESRCH { return .notWatchable(.exited(pid: pid)) }
        return .notWatchable(.unavailable("pidfd_open(\(pid)): \(String(cString: strerror(error)))"))
    }

    /// Whether the process behind `fd` has exited (its pidfd is readable), without waiting.
    public static func hasExited(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents != 0
    }

    /// The state of the QEMU whose pid file is `pidFile`, now.
    public static func state(pidFile: String) -> State {
        let pid: Int32
        switch Self.pid(fromFile: pidFile) {
        case .success(let value): pid = value
        case .failure(let error): return .noPID(error.message)
        }
        switch open(pid: pid) {
        case .notWatchable(let state): return state
        case .watching(let fd):
            defer { close(fd) }
            return hasExited(fd) ? .exited(pid: pid) : .running(pid: pid)
        }
    }

    /// Waits until one of `fds` becomes readable (its process exited) or `timeout` passes; returns the readable
    /// ones (with no descriptors it just waits). Blocking: call it off the cooperative pool.
    public static func waitForExit(_ fds: [Int32], timeout: Duration) -> [Int32] {
        var entries = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let (seconds, attoseconds) = timeout.components
        let millis = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        let count = entries.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), millis) }
        guard count > 0 else { return [] }
        return entries.filter { $0.revents != 0 }.map(\.fd)
    }
}

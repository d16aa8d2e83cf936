import Foundation

/// Real NBD servers for integration tests: `nbdkit` (memory plugin, with filters) and `qemu-nbd`.
public enum StorageFixtures {
    /// `nbdkit --foreground memory SIZE` on the unix socket `socket`, with `filters` (`--filter=NAME`) and their
    /// `arguments` (`delay-read=5s`...); returns once it accepts connections.
    public static func startNBDKit(
        socket: String, size: String = "1M", filters: [String] = [], arguments: [String] = [], log: String? = nil
    ) async throws -> ChildProcess {
        let process = try ChildProcess(
            "nbdkit",
            ["--foreground", "--exit-with-parent", "--unix", socket] + filters.map { "--filter=\($0)" }
                + ["memory", size] + arguments,
            log: log)
        guard await waitForListener(socket) else {
            process.stop()
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: socket])
        }
        return process
    }

    /// `nbdkit` on a free loopback TCP port; returns the process and the port.
    public static func startNBDKitTCP(size: String = "1M", log: String? = nil) async throws -> (ChildProcess, UInt16) {
        // A port that was free a moment ago can be taken in between: a few attempts.
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let process = try ChildProcess(
                "nbdkit",
                ["--foreground", "--exit-with-parent", "-i", "127.0.0.1", "-p", String(port), "memory", size], log: log)
            if await waitForTCPListener(port: port, while: { process.isRunning }) { return (process, port) }
            process.stop()
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// `qemu-nbd` serving the file `image` (raw) on the unix socket `socket`, read-only, for many clients.
    public static func startQEMUNBD(socket: String, image: String, log: String? = nil) async throws -> ChildProcess {
        let process = try ChildProcess(
            "qemu-nbd", ["--persistent", "--read-only", "--format=raw", "--socket=\(socket)", image], log: log)
        guard await waitForListener(socket) else {
            process.stop()
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: socket])
        }
        return process
    }

    /// A loopback TCP port nobody listens on right now.
    public static func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port`, while `alive` holds, at most `timeout`.
    public static func waitForTCPListener(
        port: UInt16, timeout: Duration = .seconds(20), while alive: () -> Bool = { true }
    ) async -> Bool {
        await eventually(timeout: timeout, poll: .milliseconds(10)) {
            guard alive() else { return true }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = loopback(port: port)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
        } && alive()
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}

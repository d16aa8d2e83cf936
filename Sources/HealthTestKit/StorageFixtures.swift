import Foundation
import HealthIO

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
        try StreamSocket.unusedLoopbackPort()
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port`, while `alive` holds, at most `timeout`.
    public static func waitForTCPListener(
        port: UInt16, timeout: Duration = .seconds(20), while alive: () -> Bool = { true }
    ) async -> Bool {
        await eventually(timeout: timeout, poll: .milliseconds(10)) {
            guard alive() else { return true }
            return StreamSocket.acceptsLoopback(port: port)
        } && alive()
    }
}

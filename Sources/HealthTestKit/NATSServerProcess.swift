import Foundation
import HealthIO

/// A real `nats-server -js` for tests: started as a child process on a free loopback port with its store in a
/// temporary directory, stopped by pid (SIGTERM, then SIGKILL after a deadline) — also from `deinit`.
public final class NATSServerProcess: @unchecked Sendable {
    // `@unchecked Sendable`: the mutable process reference is only touched under `lock`.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let port: Int
    public let storeDirectory: URL
    public let token: String?
    /// When set, the server requires TLS with this CA's server certificate (a `tls {}` block as in Spinifex's
    /// nats.conf, cmd/spinifex/cmd/templates/nats.conf).
    public let tls: TestCertificateAuthority?
    private let lock = NSLock()
    private var process: Process?
    private let logFile: URL

    /// `nats://127.0.0.1:<port>`.
    public var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts a server and waits (up to 10 s) until its port accepts connections; with `tls`, the server speaks
    /// only TLS, with that CA's server certificate.
    public init(token: String? = nil, tls: TestCertificateAuthority? = nil) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "nats-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.storeDirectory = directory
        self.logFile = directory.appendingPathComponent("server.log")
        self.token = token
        self.tls = tls
        self.port = try Self.freePort()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: storeDirectory)
    }

    /// The `nats-server` executable, from PATH or /usr/sbin (Debian installs it there).
    public static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
            let candidate = directory + "/nats-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(description: "nats-server not found (apt-get install nats-server; scripts/test.sh does it)")
    }

    /// Starts the server again on the same port and store (after ``stop()``).
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable())
        var arguments = ["-js", "-a", "127.0.0.1", "-p", "\(port)", "-sd", storeDirectory.path, "-l", logFile.path]
        if let token { arguments += ["--auth", token] }
        if let tls {
            let configuration = storeDirectory.appendingPathComponent("nats.conf")
            let text = """
                tls {
                  cert_file: "\(tls.serverCertificate)"
                  key_file:  "\(tls.serverKey)"
                  ca_file:   "\(tls.caCertificate)"
                }

                """
            try Data(text.utf8).write(to: configuration)
            arguments += ["-c", configuration.path]
        }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.withLock { self.process = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning {
                let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                throw Failure(description: "nats-server exited with \(process.terminationStatus): \(log.suffix(500))")
            }
            if Self.accepts(port: port) { return }
            usleep(20_000)
        }
        stop()
        throw Failure(description: "nats-server did not accept connections on port \(port) within 10 s")
    }

    /// Stops the server by its pid: SIGTERM, and SIGKILL when it has not exited within 5 s.
    public func stop() {
        let process = lock.withLock { () -> Process? in
            defer { self.process = nil }
            return self.process
        }
        guard let process, process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    public func kill9() {
        let process = lock.withLock { () -> Process? in
            defer { self.process = nil }
            return self.process
        }
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() throws -> Int {
        Int(try StreamSocket.unusedLoopbackPort())
    }

    static func accepts(port: Int) -> Bool {
        StreamSocket.acceptsLoopback(port: UInt16(clamping: port))
    }
}

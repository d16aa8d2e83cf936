import Foundation
import HealthCore
import HealthIO

/// Three real `nats-server` processes in one cluster with JetStream, for multi-node tests: each has its own store
/// folder, `server_name`, client, route and monitoring ports on loopback and a config file; all share one cluster
/// name and route to each other. ``init(size:)`` returns once every server sees a JetStream meta leader.
///
/// Servers are stopped by pid (``stop(_:)``, ``kill9(_:)``, ``stopAll()``), also from `deinit`.
public final class NATSClusterFixture: @unchecked Sendable {
    // `@unchecked Sendable`: the mutable process list is only touched under `lock`.
    public typealias Failure = NATSServerProcess.Failure

    /// One member's fixed coordinates (ports stay the same across restarts).
    public struct Member: Sendable {
        public let name: String
        public let clientPort: Int
        public let routePort: Int
        public let monitorPort: Int
        public let storeDirectory: String
        public let configFile: String
        public let logFile: String

        /// `nats://127.0.0.1:<clientPort>`.
        public var url: String { "nats://127.0.0.1:\(clientPort)" }
    }

    public let clusterName: String
    /// Set once in ``init(size:timeout:)`` (again only when a first try lost a port to another process).
    public private(set) var members: [Member] = []
    public let directory: String
    private let lock = NSLock()
    private var processes: [Int: Process] = [:]

    /// Every client URL, comma-separated (the form `[nodes.<node>.nats] host` takes).
    public var urls: String { members.map(\.url).joined(separator: ",") }

    /// Starts `size` servers and waits (up to `timeout`) until the cluster has a JetStream meta leader.
    public init(size: Int = 3, timeout: Duration = .seconds(30)) async throws {
        let folder = try ShortTemporaryFolder(prefix: "nats-cluster")
        directory = folder.path
        clusterName = "hh-\(UUID().uuidString.prefix(8).lowercased())"
        // A port that was free a moment ago can be taken before nats-server binds it (another test's server, an
        // outgoing connection's local port): then the cluster is started again on new ports, at most three times.
        for attempt in 1...3 {
            members = try Self.layOut(size: size, folder: folder, clusterName: clusterName, attempt: attempt)
            do {
                let indices = members.indices
                try await offCooperativePool { for index in indices { try self.launch(index) } }
                try await waitForMetaLeader(timeout: timeout)
                return
            } catch {
                stopAll()
                let portTaken = members.indices.contains { log($0).contains("address already in use") }
                if portTaken, attempt < 3 { continue }
                throw error
            }
        }
    }

    /// Members with ports free a moment ago, their folders and config files (`attempt` keeps each try's files apart).
    private static func layOut(
        size: Int, folder: ShortTemporaryFolder, clusterName: String, attempt: Int
    ) throws -> [Member] {
        var ports: Set<Int> = []
        func port() throws -> Int {
            for _ in 0..<50 {
                let candidate = try NATSServerProcess.freePort()
                if ports.insert(candidate).inserted { return candidate }
            }
            throw Failure(description: "no free loopback port")
        }
        var members: [Member] = []
        for index in 0..<size {
            let name = "n\(index + 1)"
            let stem = attempt == 1 ? name : "\(name)-try\(attempt)"
            members.append(
                Member(
                    name: name, clientPort: try port(), routePort: try port(), monitorPort: try port(),
                    storeDirectory: folder.file("\(stem)-store"), configFile: folder.file("\(stem).conf"),
                    logFile: folder.file("\(stem).log")))
        }
        for member in members {
            let routes = members.filter { $0.name != member.name }.map { "\"nats-route://127.0.0.1:\($0.routePort)\"" }
            let config = """
                server_name: "\(member.name)"
                listen: "127.0.0.1:\(member.clientPort)"
                http: "127.0.0.1:\(member.monitorPort)"
                jetstream {
                    store_dir: "\(member.storeDirectory)"
                    max_memory_store: 256MB
                    max_file_store: 2GB
                }
                cluster {
                    name: "\(clusterName)"
                    listen: "127.0.0.1:\(member.routePort)"
                    routes: [\(routes.joined(separator: ", "))]
                }
                """
            try Data(config.utf8).write(to: URL(fileURLWithPath: member.configFile))
        }
        return members
    }

    deinit {
        stopAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The pid of member `index` while it runs.
    public func pid(_ index: Int) -> Int32? {
        lock.withLock { processes[index].flatMap { $0.isRunning ? $0.processIdentifier : nil } }
    }

    public func isRunning(_ index: Int) -> Bool { pid(index) != nil }

    private func launch(_ index: Int) throws {
        let member = members[index]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try NATSServerProcess.executable())
        process.arguments = ["-c", member.configFile, "-l", member.logFile]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.withLock { processes[index] = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning {
                throw Failure(
                    description: "nats-server \(member.name) exited with \(process.terminationStatus): "
                        + "\(log(index).suffix(800))")
            }
            if NATSServerProcess.accepts(port: member.clientPort) { return }
            usleep(20_000)
        }
        throw Failure(description: "nats-server \(member.name) did not accept connections within 10 s")
    }

    /// Starts member `index` again on its ports and store (after ``kill9(_:)`` or ``stop(_:)``), and waits until it
    /// sees the meta leader again.
    public func restart(_ index: Int, timeout: Duration = .seconds(30)) async throws {
        guard !isRunning(index) else { return }
        try await offCooperativePool { try self.launch(index) }
        try await waitForMetaLeader(timeout: timeout, only: [index])
    }

    /// SIGKILL to member `index`, as a crash would.
    public func kill9(_ index: Int) {
        guard let process = lock.withLock({ processes.removeValue(forKey: index) }) else { return }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM to member `index`, SIGKILL when it has not exited within 5 s.
    public func stop(_ index: Int) {
        guard let process = lock.withLock({ processes.removeValue(forKey: index) }) else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    /// Stops every member by pid.
    public func stopAll() {
        for index in members.indices { stop(index) }
    }

    /// The last lines of member `index`'s log.
    public func log(_ index: Int) -> String {
        (try? String(contentsOfFile: members[index].logFile, encoding: .utf8)) ?? ""
    }

    /// The JetStream meta leader member `index` reports on `/jsz`, nil when it has none (or does not answer).
    public func metaLeader(_ index: Int) -> String? {
        guard let body = LoopbackHTTP.get(port: members[index].monitorPort, path: "/jsz"),
            let leader = JSONValue.parse(body)?["meta_cluster"]?["leader"]?.string, !leader.isEmpty
        else { return nil }
        return leader
    }

    /// Waits until each running member (or those in `only`) reports a meta leader that is itself running.
    public func waitForMetaLeader(timeout: Duration = .seconds(30), only: [Int]? = nil) async throws {
        let running = { () -> [Int] in (only ?? Array(self.members.indices)).filter { self.isRunning($0) } }
        let runningNames = { Set(self.members.indices.filter { self.isRunning($0) }.map { self.members[$0].name }) }
        let ready = await eventually(timeout: timeout, poll: .milliseconds(100)) {
            let names = runningNames()
            let indices = running()
            // The monitoring GETs block (up to 2 s each): on a thread of their own, not the cooperative pool.
            return await offCooperativePool {
                indices.allSatisfy { index in self.metaLeader(index).map { names.contains($0) } ?? false }
            }
        }
        guard ready else {
            let logs = members.indices.map { "\(members[$0].name): \(log($0).suffix(600))" }.joined(separator: "\n")
            throw Failure(description: "the NATS cluster has no JetStream meta leader within \(timeout)\n\(logs)")
        }
    }
}

/// Plain HTTP on loopback for tests (monitoring endpoints, the EC2 API without SigV4).
public enum LoopbackHTTP {
    /// A plain HTTP/1.0 GET on loopback (bounded: 2 s, 1 MiB), the body or nil.
    public static func get(port: Int, path: String) -> String? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        guard let socket = try? StreamSocket.connect(host: "127.0.0.1", port: UInt16(clamping: port), deadline: deadline)
        else { return nil }
        defer { socket.close() }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard (try? socket.write(request, deadline: deadline, step: "sending GET \(path)")) != nil else { return nil }
        var response: [UInt8] = []
        while response.count < 1 << 20,
            let chunk = try? socket.read(upTo: 16384, deadline: deadline, step: "reading"), !chunk.isEmpty
        {
            response += chunk
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<split.lowerBound].lowercased()
        let body = String(text[split.upperBound...])
        return head.contains("transfer-encoding: chunked") ? dechunk(body) : body
    }

    /// A chunked body put back together (bounded by its own length).
    static func dechunk(_ body: String) -> String {
        var rest = Substring(body)
        var output = ""
        while let line = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<line.lowerBound].split(separator: ";").first ?? "", radix: 16), size > 0
            else { break }
            let start = line.upperBound
            let end = rest.utf8.index(start, offsetBy: size, limitedBy: rest.endIndex) ?? rest.endIndex
            output += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return output
    }
}

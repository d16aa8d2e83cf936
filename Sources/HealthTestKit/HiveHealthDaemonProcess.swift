import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(FoundationXML)
    import FoundationXML
#endif

/// `hive-health run` of this build as a child process, configured for a ``HiveInstanceLauncher`` node: its own
/// hive.toml, state directory and checks directory (the shipped `checks.d` plus an `e2e` environment overlay with
/// short intervals) and a short launch grace, the EC2 API on a free loopback port, NATS on the given server,
/// inventory `hive-kv`.
/// Stopped by pid (SIGTERM, SIGKILL after a grace) in ``stop()``.
public final class HiveHealthDaemonProcess: @unchecked Sendable {
    // `@unchecked Sendable`: `process` is set once in init and only read afterwards.
    public let folder: ShortTemporaryFolder
    public let apiPort: Int
    public let interval: Int
    public let consecutiveFailures: Int
    /// `max_age` of the node heartbeat check, in seconds.
    public let heartbeatMaxAge: Int
    /// `[health] launch_grace_period`, in seconds: failures inside it do not impair (docs/evaluation.md).
    public let launchGrace: Int
    /// When the daemon was started (node checks' launch grace counts from here).
    public let startedAt = Date()
    private let process: Process
    public var log: String { folder.file("daemon.log") }
    public var endpoint: String { "http://127.0.0.1:\(apiPort)" }
    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The `hive-health` executable of this build: `HIVE_HEALTH_BIN`, else next to the running test bundle or
    /// executable, else `.build/debug/hive-health` of this package (what `swift build` makes).
    public static var executable: String {
        if let explicit = ProcessInfo.processInfo.environment["HIVE_HEALTH_BIN"] { return explicit }
        var candidates: [URL] = []
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appending(path: "hive-health"))
        }
        candidates.append(Bundle.main.bundleURL.appending(path: "hive-health"))
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appending(path: "hive-health"))
        }
        // Sources/HealthTestKit/<this file> -> the package root.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(packageRoot.appending(path: ".build/debug/hive-health"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }?.path
            ?? candidates.last!.path
    }

    /// The e2e overlay: every check every `interval` s, `consecutive_failures` failures (QMP events: 1, as shipped);
    /// the host hardware checks off (this machine's thermal zones and disks are not what is tested); the node
    /// heartbeat and the guest agent check on; the EBS provider checks only on Spinifex's layout (the hive-era node
    /// has no `ebs.provider.v1` responder); `ovs.port` on the launcher's ovsdb-server.
    public static func overlay(
        interval: Int, consecutiveFailures: Int, heartbeatMaxAge: Int, ovsdbSocket: String,
        layout: HiveNodeLayout = .hive
    ) -> String {
        // Spinifex's node has an ebs.provider.v1 responder (the launcher's); the hive-era node none.
        let ebsProvider = layout == .spinifex ? "true" : "false"
        return """
        # Written by HiveHealthDaemonProcess (HealthTestKit) for end-to-end tests and the demo.
        overrides:
          - checks: "*"
            interval: \(interval)s
            thresholds: {consecutive_failures: \(consecutiveFailures)}
          - checks: qmp.events
            thresholds: {consecutive_failures: 1}
          - checks: "host.*"
            enabled: false
          - checks: node.heartbeat
            enabled: true
            params: {max_age: \(heartbeatMaxAge)s}
          - checks: qmp.guest-ping
            enabled: true
          - checks: "viperblock.*"
            enabled: \(ebsProvider)
          - checks: ovs.port
            params: {db_socket: "\(ovsdbSocket)", fallback: false}

        """
    }

    /// Writes the configuration and starts the daemon. `checks` is the shipped `checks.d` folder; `extraOverrides`
    /// are more entries of the overlay's `overrides:` list (YAML, indented by two spaces). On a launcher of
    /// Spinifex's layout the configuration is Spinifex's own `spinifex.toml` (``SpinifexConfigFile``) with a
    /// `[health]` section, NATS over TLS (`tls`'s CA as `cacert`) with `natsToken`.
    public init(
        launcher: HiveInstanceLauncher, natsPort: Int, checks: String, interval: Int = 2, consecutiveFailures: Int = 2,
        heartbeatMaxAge: Int = 3, launchGrace: Int = 15, tls: TestCertificateAuthority? = nil,
        natsToken: String? = nil, arguments: [String] = [], extraOverrides: String = ""
    ) throws {
        self.launchGrace = launchGrace
        folder = try ShortTemporaryFolder(prefix: "hh-e2e")
        self.interval = interval
        self.consecutiveFailures = consecutiveFailures
        self.heartbeatMaxAge = heartbeatMaxAge
        apiPort = try NATSServerProcess.freePort()
        let checksDirectory = folder.file("checks.d")
        try FileManager.default.createDirectory(
            atPath: checksDirectory + "/environments", withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: checks) where name.hasSuffix(".yaml") {
            try FileManager.default.copyItem(atPath: checks + "/" + name, toPath: checksDirectory + "/" + name)
        }
        try Data(
            Self.overlay(
                interval: interval, consecutiveFailures: consecutiveFailures, heartbeatMaxAge: heartbeatMaxAge,
                ovsdbSocket: launcher.ovsdbSocket, layout: launcher.layout
            ).appending(extraOverrides).utf8
        ).write(to: URL(fileURLWithPath: checksDirectory + "/environments/e2e.yaml"))
        let node = launcher.node
        let health = """
            [health]
            environment = "e2e"
            checks_dir = "\(checksDirectory)"
            state_dir = "\(folder.file("state"))"
            runtime_dir = "\(launcher.runtime.path)"
            launch_grace_period = "\(launchGrace)s"
            [health.thresholds]
            consecutive_failures = \(consecutiveFailures)
            [health.api]
            listen = "127.0.0.1:\(apiPort)"
            [health.inventory]
            source = "hive-kv"
            [health.nats]
            status_interval = "\(interval)s"
            shared_catalogue = false

            """
        let config: String
        if launcher.layout == .spinifex, let tls {
            config = SpinifexConfigFile(
                node: node, region: launcher.region, availabilityZone: launcher.availabilityZone,
                natsHost: "127.0.0.1:\(natsPort)", caCertificate: tls.caCertificate, token: natsToken ?? "",
                dataDirectory: folder.file("data")
            ).render(health: health)
            configName = "spinifex.toml"
        } else {
            config = """
                node = "\(node)"
                [nodes.\(node)]
                region = "\(launcher.region)"
                az = "\(launcher.availabilityZone)"
                [nodes.\(node).nats]
                host = "127.0.0.1:\(natsPort)"

                """ + health
            configName = "hive.toml"
        }
        try Data(config.utf8).write(to: URL(fileURLWithPath: folder.file(configName)))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["run", "--config", folder.file(configName)] + arguments
        _ = FileManager.default.createFile(atPath: folder.file("daemon.log"), contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: folder.file("daemon.log")))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// `hive.toml`, or `spinifex.toml` on Spinifex's layout.
    public var configFile: String { folder.file(configName) }
    private let configName: String

    /// SIGTERM, SIGKILL after `grace`; returns the exit status. Blocking (for `defer`); idempotent.
    @discardableResult
    public func stop(grace: Duration = .seconds(15)) -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now.advanced(by: grace)
            while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The daemon's log so far (the last `limit` characters).
    public func logTail(_ limit: Int = 4000) -> String {
        String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(limit))
    }

    // MARK: Reading the EC2 API

    /// One instance's three categories as DescribeInstanceStatus shows them.
    public struct InstanceView: Sendable, Hashable, CustomStringConvertible {
        public var id: String
        /// `system`, `instance`, `ebs` -> summary status.
        public var status: [String: String] = [:]
        /// `system`, `instance`, `ebs` -> the reachability detail.
        public var reachability: [String: String] = [:]
        /// `system`, `instance`, `ebs` -> impairedSince, when shown.
        public var impairedSince: [String: String] = [:]
        public var description: String {
            ["system", "instance", "ebs"].map {
                "\($0)=\(status[$0] ?? "-")/\(reachability[$0] ?? "-")"
                    + (impairedSince[$0].map { " since \($0)" } ?? "")
            }.joined(separator: ", ")
        }
    }

    /// DescribeInstanceStatus (IncludeAllInstances) over plain HTTP: a quick poll for measuring detection times.
    /// Nil when the API does not answer (yet).
    public func describe() async -> [String: InstanceView]? {
        var request = URLRequest(
            url: URL(string: "\(endpoint)/?Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true")!)
        request.timeoutInterval = 5
        guard let (data, response) = try? await URLSession.shared.data(for: request),
            (response as? HTTPURLResponse)?.statusCode == 200
        else { return nil }
        return DescribeParser.parse(data)
    }
}

/// DescribeInstanceStatus's XML into ``HiveHealthDaemonProcess/InstanceView``s.
final class DescribeParser: NSObject, XMLParserDelegate {
    private var stack: [String] = []
    private var text = ""
    private var current: HiveHealthDaemonProcess.InstanceView?
    private var views: [String: HiveHealthDaemonProcess.InstanceView] = [:]

    static func parse(_ data: Data) -> [String: HiveHealthDaemonProcess.InstanceView]? {
        let delegate = DescribeParser()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse() else { return nil }
        return delegate.views
    }

    private static let categories = ["systemStatus": "system", "instanceStatus": "instance", "attachedEbsStatus": "ebs"]

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        stack.append(name)
        text = ""
        if name == "item", stack.dropLast().last == "instanceStatusSet" {
            current = HiveHealthDaemonProcess.InstanceView(id: "")
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        defer { stack.removeLast() }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        text = ""
        guard var view = current else { return }
        let path = Array(stack)
        if name == "instanceId", path.count >= 2, path[path.count - 2] == "item" {
            view.id = value
        } else if let categoryIndex = path.lastIndex(where: { Self.categories[$0] != nil }) {
            let category = Self.categories[path[categoryIndex]]!
            let tail = path[(categoryIndex + 1)...]
            if tail == ["status"] { view.status[category] = value }
            if tail == ["details", "item", "status"] { view.reachability[category] = value }
            if tail == ["details", "item", "impairedSince"] { view.impairedSince[category] = value }
        }
        if name == "item", path.dropLast().last == "instanceStatusSet" {
            views[view.id] = view
            current = nil
        } else {
            current = view
        }
    }
}

/// What a QEMU command line says about the instance it runs: monitors, guest agent, serial console, NBD drives, taps.
///
/// Understands Hive's own spelling (`-qmp unix:P,server,nowait` twice, `-chardev socket,...` + `-serial chardev:X`,
/// `-drive file=nbd:...`, `-blockdev driver=nbd,server.type=unix,server.path=P`, `-netdev tap,ifname=T`) and the
/// common alternatives (`-mon chardev=X,mode=control`, JSON `-blockdev`/`-device`, `-serial unix:P`).
public struct QemuCommandLine: Sendable, Hashable {
    /// One NBD-backed block device.
    public struct NBDDrive: Sendable, Hashable {
        /// The `-drive id=` or `-blockdev node-name=`, when given.
        public var id: String?
        /// `nbd:unix:/path.sock`, `nbd+unix:///export?socket=/path` or `nbd://host:port/export`.
        public var uri: String
        /// The unix socket path, for unix URIs.
        public var socketPath: String?
        public var export: String?
        /// A `-device` with `bootindex=1` uses it.
        public var boot: Bool

        public init(id: String?, uri: String, socketPath: String? = nil, export: String? = nil, boot: Bool = false) {
            self.id = id
            self.uri = uri
            self.socketPath = socketPath
            self.export = export
            self.boot = boot
        }
    }

    /// `-name <name>` or `-name guest=<name>,...`.
    public var name: String?
    /// Control (QMP) monitor sockets in command-line order: Hive's first, the telemetry one second.
    public var qmpSockets: [String] = []
    /// The socket of the chardev behind `virtserialport,name=org.qemu.guest_agent.0`.
    public var guestAgentSocket: String?
    public var pidFile: String?
    public var serialSocket: String?
    /// The serial console log (`logfile=` of the serial chardev, or a `file` chardev used as serial).
    public var consoleLogPath: String?
    public var drives: [NBDDrive] = []
    /// `ifname=` of every `-netdev tap` / `-nic tap`, in order.
    public var tapNames: [String] = []

    public init() {}

    /// Parses argv (without argv[0]); options it does not know are ignored.
    public static func parse(_ arguments: [String]) -> QemuCommandLine {
        var result = QemuCommandLine()
        var chardevs: [String: QemuOptions] = [:]
        var monitors: [Monitor] = []
        var serials: [String] = []
        var devices: [QemuOptions] = []
        var driveOptions: [(kind: String, options: QemuOptions)] = []

        var index = 0
        while index < arguments.count {
            var option = arguments[index]
            guard option.hasPrefix("-"), index + 1 < arguments.count else {
                index += 1
                continue
            }
            if option.hasPrefix("--") { option.removeFirst() }
            let value = arguments[index + 1]
            switch option {
            case "-name":
                let options = QemuOptions(parsing: value)
                result.name = options["guest"] ?? options.implied
            case "-qmp", "-qmp-pretty":
                monitors.append(.legacy(value))
            case "-mon":
                let options = QemuOptions(parsing: value)
                if options["mode"] == "control", let chardev = options["chardev"] { monitors.append(.chardev(chardev)) }
            case "-chardev":
                let options = QemuOptions(parsing: value)
                if let id = options["id"] { chardevs[id] = options }
            case "-serial":
                serials.append(value)
            case "-pidfile":
                result.pidFile = value
            case "-device":
                devices.append(QemuOptions(parsing: value))
            case "-drive", "-blockdev":
                driveOptions.append((option, QemuOptions(parsing: value)))
            case "-netdev", "-nic":
                let options = QemuOptions(parsing: value)
                if options.implied == "tap" || options["type"] == "tap", let ifname = options["ifname"] {
                    result.tapNames.append(ifname)
                }
            default:
                index += 1
                continue
            }
            index += 2
        }

        for monitor in monitors {
            if let path = monitor.socketPath(chardevs: chardevs) { result.qmpSockets.append(path) }
        }
        for serial in serials { result.applySerial(serial, chardevs: chardevs) }
        for device in devices {
            let driver = device.implied ?? device["driver"]
            if driver == "virtserialport", device["name"] == "org.qemu.guest_agent.0",
                let chardev = device["chardev"], let options = chardevs[chardev], options.implied == "socket"
            {
                result.guestAgentSocket = options["path"]
            } else if driver == "isa-serial" || driver == "pci-serial", let chardev = device["chardev"] {
                result.applySerial("chardev:" + chardev, chardevs: chardevs)
            }
        }
        let bootDevices = devices.filter { $0["bootindex"] == "0" || $0["bootindex"] == "1" }
        let bootDrives = Set(bootDevices.compactMap { $0["drive"] })
        for (kind, options) in driveOptions {
            guard var drive = kind == "-drive" ? Self.nbdDrive(options) : Self.nbdBlockdev(options) else { continue }
            drive.boot = drive.id.map(bootDrives.contains) ?? false
            result.drives.append(drive)
        }
        return result
    }

    private enum Monitor {
        case legacy(String)
        case chardev(String)

        func socketPath(chardevs: [String: QemuOptions]) -> String? {
            switch self {
            case .legacy(let spec):
                return QemuCommandLine.unixPath(legacy: spec)
            case .chardev(let id):
                guard let options = chardevs[id], options.implied == "socket" else { return nil }
                return options["path"]
            }
        }
    }

    /// `unix:/path,server,nowait` or `unix:path=/path,...` → `/path`.
    static func unixPath(legacy spec: String) -> String? {
        let options = QemuOptions(parsing: spec)
        guard let first = options.implied ?? options.pairs.first.map({ $0.key + "=" + $0.value }),
            first.hasPrefix("unix:")
        else { return nil }
        var path = String(first.dropFirst("unix:".count))
        if path.hasPrefix("path=") { path.removeFirst("path=".count) }
        return path.isEmpty ? nil : path
    }

    private mutating func applySerial(_ spec: String, chardevs: [String: QemuOptions]) {
        if spec.hasPrefix("chardev:") {
            guard let options = chardevs[String(spec.dropFirst("chardev:".count))] else { return }
            switch options.implied {
            case "socket":
                if serialSocket == nil { serialSocket = options["path"] }
                if consoleLogPath == nil { consoleLogPath = options["logfile"] }
            case "file":
                if consoleLogPath == nil { consoleLogPath = options["path"] }
            default:
                if consoleLogPath == nil { consoleLogPath = options["logfile"] }
            }
        } else if spec.hasPrefix("file:") {
            if consoleLogPath == nil { consoleLogPath = String(spec.dropFirst("file:".count)) }
        } else if let path = Self.unixPath(legacy: spec) {
            if serialSocket == nil { serialSocket = path }
        }
    }

    /// `-drive file=nbd:unix:/p.sock[:exportname=e],...`, `file=nbd://h:p/e`, `file=nbd+unix:///e?socket=/p`, or
    /// `file.driver=nbd,file.server.*`.
    static func nbdDrive(_ options: QemuOptions) -> NBDDrive? {
        let id = options["id"]
        if let file = options["file"] {
            if file.hasPrefix("nbd:unix:") {
                var rest = file.dropFirst("nbd:unix:".count)
                var export: String?
                if let range = rest.range(of: ":exportname=") {
                    export = String(rest[range.upperBound...])
                    rest = rest[..<range.lowerBound]
                }
                return NBDDrive(id: id, uri: file, socketPath: String(rest), export: export)
            }
            if file.hasPrefix("nbd+unix://") {
                let socket = file.range(of: "socket=").map { String(file[$0.upperBound...].prefix { $0 != "&" }) }
                let path = file.dropFirst("nbd+unix://".count).prefix { $0 != "?" }
                let export = path.hasPrefix("/") ? String(path.dropFirst()) : String(path)
                return NBDDrive(id: id, uri: file, socketPath: socket, export: export.isEmpty ? nil : export)
            }
            if file.hasPrefix("nbd://") || file.hasPrefix("nbd:") {
                let export =
                    file.hasPrefix("nbd://")
                    ? file.dropFirst("nbd://".count).drop { $0 != "/" }.dropFirst() : Substring()
                return NBDDrive(id: id, uri: file, export: export.isEmpty ? nil : String(export))
            }
            return nil
        }
        guard options["file.driver"] == "nbd" else { return nil }
        return nbdServer(options, prefix: "file.", id: id)
    }

    /// `-blockdev driver=nbd,node-name=n,server.type=unix,server.path=/p,export=e` (or its JSON form).
    static func nbdBlockdev(_ options: QemuOptions) -> NBDDrive? {
        guard options["driver"] == "nbd" else { return nil }
        return nbdServer(options, prefix: "", id: options["node-name"])
    }

    private static func nbdServer(_ options: QemuOptions, prefix: String, id: String?) -> NBDDrive? {
        let export = options[prefix + "export"].flatMap { $0.isEmpty ? nil : $0 }
        switch options[prefix + "server.type"] {
        case "unix":
            guard let path = options[prefix + "server.path"], !path.isEmpty else { return nil }
            let uri = export.map { "nbd+unix:///\($0)?socket=\(path)" } ?? "nbd:unix:\(path)"
            return NBDDrive(id: id, uri: uri, socketPath: path, export: export)
        case "inet":
            guard let host = options[prefix + "server.host"], !host.isEmpty else { return nil }
            let port = options[prefix + "server.port"] ?? "10809"
            let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            return NBDDrive(id: id, uri: "nbd://\(authority)" + (export.map { "/" + $0 } ?? ""), export: export)
        default:
            return nil
        }
    }
}

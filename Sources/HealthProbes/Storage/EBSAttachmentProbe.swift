import HealthCore
import HealthQEMU
import HealthBlock
import ProbeKit

/// `ebs.attachment`: the volumes the inventory says are attached (`ebs_requests`) against the block devices QEMU
/// really has (`query-block`). A volume with no device fails; a volume served on a unix socket that no process
/// listens on any more (its nbdkit is gone: `/proc/net/unix`, then `/proc/<pid>/fd`) or on which the server holds no
/// connection (QEMU lost it when nbdkit restarted) fails; an NBD device QEMU has
/// that the inventory does not know (a stale attachment) is reported, and fails only with `stale_fails: true`.
public struct EBSAttachmentProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "ebs.attachment", category: .ebs, targets: [.instance],
        parameters: [
            QMPProbeSupport.socketParameter,
            ParameterSpec(
                "check_server", .boolean, default: .boolean(true),
                doc: "Check that a process (nbdkit) listens on each volume's unix socket."),
            ParameterSpec(
                "check_connected", .boolean, default: .boolean(true),
                doc: "Check that the server of each volume's unix socket holds a connection (QEMU's); none fails."),
            ParameterSpec(
                "stale_fails", .boolean, default: .boolean(false),
                doc: "Fail (rather than report) when QEMU has an NBD device the inventory does not list."),
        ],
        timeoutClass: .ebs,
        summary: "inventory volumes vs QEMU's block devices: missing fails, stale reported, nbdkit gone fails")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// One block device of QEMU, with what identifies it.
    struct Device {
        /// The drive id, else the qdev, else the node name: for messages.
        var label: String
        var names: Set<String>
        /// `inserted.file` and `inserted.image.filename`: where the device reads from.
        var files: [String]
        var isNBD: Bool
    }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (session: MonitorSession, checkServer: Bool, checkConnected: Bool, staleFails: Bool)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (session, checkServer, checkConnected, staleFails) = settings
        let volumes = request.target.instance?.volumes ?? []
        // Without volumes the ebs category is not-applicable: no need to ask QEMU.
        if volumes.isEmpty { return .passed("no EBS volumes attached") }
        let blocks: QMPValue
        switch await session.execute(["query-block"]) {
        case .failure(let failure): return failure.observation
        case .success(let answers): blocks = answers[0]
        }
        guard let list = blocks.array else { return .unknown("query-block did not answer with a list") }
        let devices = list.prefix(1024).compactMap(Self.device)
        var failures: [String] = []
        var notes: [String] = []
        var matched = Set<Int>()
        for volume in volumes.prefix(256) {
            let address = try? NBDAddress(parsing: volume.nbdURI)
            guard let index = Self.match(volume, address: address, in: devices) else {
                failures.append("\(volume.id): not attached in QEMU (no block device for \(Self.label(volume)))")
                continue
            }
            matched.insert(index)
            guard checkServer, let path = address?.socketPath else { continue }
            let procRoot = environment.hostPath("/proc")
            let inodes = UnixSocketOwners.listeningInodes(path: path, procRoot: procRoot)
            if inodes.isEmpty {
                failures.append("\(volume.id): no process serves \(path) (nbdkit gone)")
                continue
            }
            if checkConnected, UnixSocketOwners.acceptedConnections(path: path, procRoot: procRoot) == 0 {
                // QEMU keeps its NBD connection open while the drive is attached; none means it lost it (nbdkit
                // restarted) and its I/O fails until the drive is reopened.
                failures.append("\(volume.id): QEMU holds no connection to \(path) (nbdkit restarted?)")
            }
            if let owner = UnixSocketOwners.owners(of: inodes, procRoot: procRoot).first {
                notes.append("\(volume.id) served by \(owner.command)[\(owner.pid)]")
            }
        }
        let stale = devices.indices.filter { !matched.contains($0) && devices[$0].isNBD }
        let staleNames = stale.map { devices[$0].label }
        if !staleNames.isEmpty {
            let text = "stale attachment: QEMU has NBD devices the inventory does not list: "
                + staleNames.prefix(8).joined(separator: ", ")
            if staleFails { failures.append(text) } else { notes.append(text) }
        }
        let values: [String: Double] = [
            "latency_seconds": session.elapsed.seconds, "volumes": Double(volumes.count),
            "missing": Double(volumes.count - matched.count), "stale": Double(staleNames.count),
        ]
        if !failures.isEmpty {
            return .failed((failures + notes).prefix(10).joined(separator: "; "), values: values)
        }
        let summary =
            "\(volumes.count) volumes attached" + (notes.isEmpty ? "" : "; " + notes.prefix(8).joined(separator: "; "))
        return .passed(summary, values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let session = try MonitorSession(parameters, request: request, environment: environment)
        let checkServer = try parameters.boolean("check_server") ?? true
        let checkConnected = try parameters.boolean("check_connected") ?? true
        let staleFails = try parameters.boolean("stale_fails") ?? false
        return (session, checkServer, checkConnected, staleFails)
    }

    static func label(_ volume: VolumeInfo) -> String {
        volume.nbdURI.isEmpty ? volume.deviceName : volume.nbdURI
    }

    static func device(_ entry: QMPValue) -> Device? {
        guard let inserted = entry["inserted"] else { return nil }
        let candidates = [entry["device"]?.string, entry["qdev"]?.string, inserted["node-name"]?.string]
            .compactMap { $0 }.filter { !$0.isEmpty }
        let names = Set(candidates)
        let files = [inserted["file"]?.string, inserted["image"]?["filename"]?.string].compactMap { $0 }
        let isNBD = inserted["drv"]?.string == "nbd" || files.contains { $0.hasPrefix("nbd") || $0.contains("\"nbd\"") }
        return Device(label: String((candidates.first ?? "?").prefix(64)), names: names, files: files, isNBD: isNBD)
    }

    /// The device of `volume`: by name (volume id, device name without `/dev/`), else by where it reads from.
    static func match(_ volume: VolumeInfo, address: NBDAddress?, in devices: [Device]) -> Int? {
        var names: Set<String> = [volume.id]
        if !volume.deviceName.isEmpty {
            names.insert(volume.deviceName)
            names.insert(String(volume.deviceName.split(separator: "/").last ?? ""))
        }
        names.remove("")
        if let index = devices.firstIndex(where: { !$0.names.isDisjoint(with: names) }) { return index }
        guard let address else { return nil }
        let needle: String
        switch address.endpoint {
        case .unix(let path): needle = path
        case .tcp(let host, let port): needle = "\(host):\(port)"
        }
        return devices.firstIndex { device in device.isNBD && device.files.contains { $0.contains(needle) } }
    }
}

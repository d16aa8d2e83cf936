import HealthCore
import HealthQEMU

/// `qmp.block`: the instance's block devices as QEMU sees them, over the shared QMP connection. A device whose
/// `query-block` io-status is `failed` or `nospace` fails; so do failed read/write/flush operations in
/// `query-blockstats` that grew since the previous run (the first run takes the baseline: counters from before
/// hive-health started do not impair the instance forever).
public struct QMPBlockProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "qmp.block", category: .ebs, targets: [.instance],
        parameters: [QMPProbeSupport.socketParameter], timeoutClass: .ebs,
        summary: "QMP query-block io-status and query-blockstats failed operations per block device")

    /// Failed-operation totals per device, from the previous run.
    private let previous = PerCheckMemory<[String: Double]>()
    private let environment: ProbeEnvironment
    private let pool: QMPConnectionPool

    public init(environment: ProbeEnvironment) {
        self.init(environment: environment, pool: .shared)
    }

    /// Creates the probe with a connection pool of its own (tests).
    public init(environment: ProbeEnvironment, pool: QMPConnectionPool) {
        self.environment = environment
        self.pool = pool
    }

    public func observe(_ request: ProbeRequest) async -> Observation {
        let parameters = CheckParameters(
            request, descriptor: Self.descriptor, runtimeDirectory: environment.runtimeDirectory)
        let socket: String
        do {
            socket = try QMPProbeSupport.socketPath(
                parameters.string("socket"), request: request, runtimeDirectory: environment.runtimeDirectory,
                what: "QMP"
            ).get()
        } catch {
            return .unknown("\(error)")
        }
        // Without volumes the ebs category is not-applicable: no need to ask QEMU.
        if request.target.instance?.volumes.isEmpty ?? true { return .passed("no EBS volumes attached") }
        let clock = ContinuousClock()
        let start = clock.now
        let budget = QMPProbeSupport.budget(request)
        let blocks: QMPValue
        let stats: QMPValue
        do throws(QEMUError) {
            let pair = try await pool.withConnection(to: socket, timeout: budget, logger: request.logger) {
                connection throws(QEMUError) -> (QMPValue, QMPValue) in
                let blocks = try await connection.execute(
                    "query-block", timeout: max(.milliseconds(50), budget - (clock.now - start)))
                let stats = try await connection.execute(
                    "query-blockstats", timeout: max(.milliseconds(50), budget - (clock.now - start)))
                return (blocks, stats)
            }
            blocks = pair.0
            stats = pair.1
        } catch {
            return QMPProbeSupport.observation(for: error, socket: socket)
        }
        guard let devices = blocks.array, let statList = stats.array else {
            return .unknown("query-block/query-blockstats did not answer with lists")
        }
        let totals = Self.failedOperations(statList)
        let before = previous.update(request.stateKey, now: clock.now) { remembered in
            let old = remembered
            remembered = totals
            return old
        }
        return Self.judge(devices: devices, totals: totals, before: before, latency: (clock.now - start).seconds)
    }

    /// Failed read + write + flush (+ unmap) operations per device (or node name).
    static func failedOperations(_ stats: [QMPValue]) -> [String: Double] {
        var totals: [String: Double] = [:]
        for entry in stats.prefix(1024) {
            let name = deviceName(entry)
            guard !name.isEmpty, let counters = entry["stats"] else { continue }
            let keys = ["failed_rd_operations", "failed_wr_operations", "failed_flush_operations",
                "failed_unmap_operations"]
            totals[name] = keys.compactMap { counters[$0]?.number }.reduce(0, +)
        }
        return totals
    }

    static func deviceName(_ entry: QMPValue) -> String {
        if let device = entry["device"]?.string, !device.isEmpty { return device }
        if let qdev = entry["qdev"]?.string, !qdev.isEmpty { return qdev }
        return entry["node-name"]?.string ?? entry["inserted"]?["node-name"]?.string ?? ""
    }

    static func judge(devices: [QMPValue], totals: [String: Double], before: [String: Double]?, latency: Double)
        -> Observation
    {
        var problems: [String] = []
        var inserted = 0
        for device in devices.prefix(1024) where device["inserted"] != nil {
            inserted += 1
            let name = String(deviceName(device).prefix(64))
            switch device["io-status"]?.string {
            case "failed": problems.append("\(name): io-status failed (an I/O error stopped the device)")
            case "nospace": problems.append("\(name): io-status nospace (the backing store is full)")
            default: break
            }
        }
        var grown = 0.0
        if let before {
            for (name, total) in totals.sorted(by: { $0.key < $1.key }) {
                let delta = total - (before[name] ?? 0)
                if delta > 0 {
                    grown += delta
                    problems.append("\(name.prefix(64)): \(Int(delta)) failed I/O operations since the last check")
                }
            }
        }
        let values: [String: Double] = [
            "latency_seconds": latency, "devices": Double(inserted),
            "failed_operations": totals.values.reduce(0, +), "new_failed_operations": grown,
        ]
        if !problems.isEmpty { return .failed(problems.prefix(8).joined(separator: "; "), values: values) }
        return .passed("\(inserted) block devices, io-status ok, no new failed operations", values: values)
    }
}

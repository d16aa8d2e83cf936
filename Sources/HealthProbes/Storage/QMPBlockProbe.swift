import Foundation
import HealthCore
import HealthQEMU
import ProbeKit

/// `qmp.block`: the instance's block devices as QEMU sees them, over the shared QMP connection. A device whose
/// `query-block` io-status is `failed` or `nospace` fails; so do failed read/write/flush operations in
/// `query-blockstats` that grew since the previous run (the first run takes the baseline: counters from before
/// hive-health started do not impair the instance forever).
///
/// From the second run on, each device's I/O since the previous run is reported as values, `<device>.` followed by
/// `read_bytes_per_second`, `write_bytes_per_second`, `read_operations_per_second`, `write_operations_per_second`,
/// `read_latency_ms` and `write_latency_ms` (mean time per operation, from `rd_total_time_ns`/`wr_total_time_ns`);
/// the `max_*` parameters, when above 0, fail a device past them.
public struct QMPBlockProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "qmp.block", category: .ebs, targets: [.instance],
        parameters: [
            QMPProbeSupport.socketParameter,
            ParameterSpec(
                "max_read_latency_ms", .number, default: .number(0), range: 0...3_600_000,
                doc: "Failed when a device's mean read latency since the previous run is above this (0: no limit)."),
            ParameterSpec(
                "max_write_latency_ms", .number, default: .number(0), range: 0...3_600_000,
                doc: "Failed when a device's mean write latency since the previous run is above this (0: no limit)."),
            ParameterSpec(
                "max_bytes_per_second", .number, default: .number(0), range: 0...1e15,
                doc: "Failed when a device reads plus writes more bytes per second than this (0: no limit)."),
            ParameterSpec(
                "max_operations_per_second", .number, default: .number(0), range: 0...1e12,
                doc: "Failed when a device does more read plus write operations per second than this (0: no limit)."),
        ],
        timeoutClass: .ebs,
        summary: "QMP query-block io-status, query-blockstats failed operations and I/O rates per block device")

    /// One device's cumulative counters from `query-blockstats`.
    struct Counters: Sendable, Hashable {
        var failed: Double
        var readBytes: Double
        var writeBytes: Double
        var readOperations: Double
        var writeOperations: Double
        var readNanoseconds: Double
        var writeNanoseconds: Double
    }

    /// What one run read, for the next: the counters per device and when.
    struct Snapshot: Sendable {
        var counters: [String: Counters]
        var at: ContinuousClock.Instant
    }

    /// Limits from the parameters (0: none).
    public struct Limits: Sendable, Hashable {
        var readLatencyMs = 0.0
        var writeLatencyMs = 0.0
        var bytesPerSecond = 0.0
        var operationsPerSecond = 0.0
    }

    private let previous = PerCheckMemory<Snapshot>()
    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (session: MonitorSession, limits: Limits)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (session, limits) = settings
        // Without volumes the ebs category is not-applicable: no need to ask QEMU.
        if request.target.instance?.volumes.isEmpty ?? true { return .passed("no EBS volumes attached") }
        let answers: [QMPValue]
        switch await session.execute(["query-block", "query-blockstats"]) {
        case .failure(let failure): return failure.observation
        case .success(let values): answers = values
        }
        guard let devices = answers[0].array, let statList = answers[1].array else {
            return .unknown("query-block/query-blockstats did not answer with lists")
        }
        let now = Snapshot(counters: Self.counters(statList), at: ContinuousClock.now)
        let before = previous.update(request.stateKey, now: now.at) { remembered in
            let old = remembered
            remembered = now
            return old
        }
        return Self.judge(
            devices: devices, now: now, before: before, limits: limits, latency: session.elapsed.seconds)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let session = try MonitorSession(parameters, request: request, environment: environment)
        var limits = Limits()
        limits.readLatencyMs = try parameters.number("max_read_latency_ms") ?? 0
        limits.writeLatencyMs = try parameters.number("max_write_latency_ms") ?? 0
        limits.bytesPerSecond = try parameters.number("max_bytes_per_second") ?? 0
        limits.operationsPerSecond = try parameters.number("max_operations_per_second") ?? 0
        return (session, limits)
    }

    /// Each device's (or node's) counters: failed read + write + flush (+ unmap) operations, bytes, operations and
    /// time spent.
    static func counters(_ stats: [QMPValue]) -> [String: Counters] {
        var result: [String: Counters] = [:]
        for entry in stats.prefix(1024) {
            let name = deviceName(entry)
            guard !name.isEmpty, let counters = entry["stats"] else { continue }
            func value(_ key: String) -> Double { counters[key]?.number ?? 0 }
            result[name] = Counters(
                failed: ["failed_rd_operations", "failed_wr_operations", "failed_flush_operations",
                    "failed_unmap_operations"].map(value).reduce(0, +),
                readBytes: value("rd_bytes"), writeBytes: value("wr_bytes"), readOperations: value("rd_operations"),
                writeOperations: value("wr_operations"), readNanoseconds: value("rd_total_time_ns"),
                writeNanoseconds: value("wr_total_time_ns"))
        }
        return result
    }

    static func deviceName(_ entry: QMPValue) -> String {
        if let device = entry["device"]?.string, !device.isEmpty { return device }
        if let qdev = entry["qdev"]?.string, !qdev.isEmpty { return qdev }
        return entry["node-name"]?.string ?? entry["inserted"]?["node-name"]?.string ?? ""
    }

    static func judge(
        devices: [QMPValue], now: Snapshot, before: Snapshot?, limits: Limits, latency: Double
    ) -> Observation {
        let totals = now.counters.mapValues(\.failed)
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
        var rates: [String: Double] = [:]
        if let before {
            for (name, total) in totals.sorted(by: { $0.key < $1.key }) {
                let delta = total - (before.counters[name]?.failed ?? 0)
                if delta > 0 {
                    grown += delta
                    problems.append("\(name.prefix(64)): \(Int(delta)) failed I/O operations since the last check")
                }
            }
        }
        if let before {
            let seconds = (now.at - before.at).seconds
            // Six values per device, 64 values per check: the first ten devices.
            for (name, counters) in now.counters.sorted(by: { $0.key < $1.key }).prefix(10) {
                guard seconds > 0, let old = before.counters[name],
                    let device = Self.rates(counters, since: old, seconds: seconds)
                else { continue }
                let label = String(name.prefix(64))
                for (key, value) in device { rates[label + "." + key] = value }
                problems += Self.overLimits(label, device, limits)
            }
        }
        var values: [String: Double] = [
            "latency_seconds": latency, "devices": Double(inserted),
            "failed_operations": totals.values.reduce(0, +), "new_failed_operations": grown,
        ]
        values.merge(rates) { first, _ in first }
        if !problems.isEmpty { return .failed(problems.prefix(8).joined(separator: "; "), values: values) }
        return .passed("\(inserted) block devices, io-status ok, no new failed operations", values: values)
    }

    /// Rates between two readings of one device; nil when a counter went back (QEMU restarted).
    static func rates(_ now: Counters, since old: Counters, seconds: Double) -> [String: Double]? {
        let readBytes = now.readBytes - old.readBytes
        let writeBytes = now.writeBytes - old.writeBytes
        let reads = now.readOperations - old.readOperations
        let writes = now.writeOperations - old.writeOperations
        let readTime = now.readNanoseconds - old.readNanoseconds
        let writeTime = now.writeNanoseconds - old.writeNanoseconds
        guard [readBytes, writeBytes, reads, writes, readTime, writeTime].allSatisfy({ $0 >= 0 }) else { return nil }
        return [
            "read_bytes_per_second": readBytes / seconds, "write_bytes_per_second": writeBytes / seconds,
            "read_operations_per_second": reads / seconds, "write_operations_per_second": writes / seconds,
            "read_latency_ms": reads > 0 ? readTime / reads / 1e6 : 0,
            "write_latency_ms": writes > 0 ? writeTime / writes / 1e6 : 0,
        ]
    }

    static func overLimits(_ name: String, _ rates: [String: Double], _ limits: Limits) -> [String] {
        var problems: [String] = []
        func check(_ value: Double, _ limit: Double, _ what: String, _ unit: String) {
            if limit > 0, value > limit {
                problems.append("\(name): \(what) \(Self.format(value)) \(unit) above \(Self.format(limit))")
            }
        }
        check(rates["read_latency_ms"] ?? 0, limits.readLatencyMs, "read latency", "ms")
        check(rates["write_latency_ms"] ?? 0, limits.writeLatencyMs, "write latency", "ms")
        check(
            (rates["read_bytes_per_second"] ?? 0) + (rates["write_bytes_per_second"] ?? 0), limits.bytesPerSecond,
            "I/O", "bytes/s")
        check(
            (rates["read_operations_per_second"] ?? 0) + (rates["write_operations_per_second"] ?? 0),
            limits.operationsPerSecond, "I/O", "operations/s")
        return problems
    }

    static func format(_ value: Double) -> String { String(format: "%.3g", value) }
}

import HealthCore
import ProbeKit

/// `host.meminfo`: the node's available memory (`MemAvailable` of `/proc/meminfo`) against a minimum.
public struct MemInfoProbe: ParameterizedProbe {
    static let minAvailablePercent: ProbeParameter<Double> = .number(
        "min_available_percent", default: 5, range: 0...100,
        doc: "Failed when MemAvailable is below this percentage of MemTotal.")
    static let minAvailableBytes: ProbeParameter<Int?> = .integer(
        "min_available_bytes", range: 0...9.2e18,
        doc: "Failed when MemAvailable is below this many bytes (unset: no byte threshold).")

    public static let descriptor = ProbeDescriptor(
        kind: "host.meminfo", category: .system, targets: [.node],
        parameters: [minAvailablePercent.spec, minAvailableBytes.spec],
        summary: "MemAvailable of /proc/meminfo vs a minimum (percent of MemTotal and/or bytes)")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (minPercent: Double, minBytes: Int?)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (minPercent, minBytes) = settings
        let path = environment.hostPath("/proc/meminfo")
        let info: MemInfo
        switch HostFile.text(path) {
        case .failure(let error):
            return .unknown("cannot read \(error)")
        case .success(let text):
            do { info = try MemInfo(parsing: text, path: path) } catch { return .unknown("\(error)") }
        }
        guard let total = info["MemTotal"], total > 0 else {
            return .unknown("\(path): no MemTotal")
        }
        guard let available = info.available else {
            return .unknown("\(path): neither MemAvailable nor MemFree, Buffers and Cached")
        }
        let percent = Double(available) / Double(total) * 100
        let values = [
            "mem_available_bytes": Double(available),
            "mem_total_bytes": Double(total),
            "mem_available_percent": percent,
        ]
        let seen =
            "\(ReadableUnits.bytes(available)) of \(ReadableUnits.bytes(total)) available "
            + "(\(ReadableUnits.decimal(percent, places: 1))%)"
        var problems: [String] = []
        if percent < minPercent {
            problems.append("below the minimum of \(ReadableUnits.decimal(minPercent, places: 1))%")
        }
        if let minBytes, available < UInt64(minBytes) {
            problems.append("below the minimum of \(ReadableUnits.bytes(UInt64(minBytes)))")
        }
        if problems.isEmpty {
            var thresholds = "minimum \(ReadableUnits.decimal(minPercent, places: 1))%"
            if let minBytes { thresholds += " and \(ReadableUnits.bytes(UInt64(minBytes)))" }
            return .passed("\(seen), \(thresholds)", values: values)
        }
        return .failed("memory low: \(seen), " + problems.joined(separator: " and "), values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let minPercent = try parameters.value(Self.minAvailablePercent)
        let minBytes = try parameters.value(Self.minAvailableBytes)
        return (minPercent, minBytes)
    }
}

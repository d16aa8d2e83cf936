import HealthCore
import ProbeKit

/// `host.thermal`: thermal zones of `/sys/class/thermal` against their hot/critical trip points, and CPU thermal
/// throttling counters against the previous run.
public struct ThermalProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "host.thermal", category: .system, targets: [.node],
        parameters: [
            ParameterSpec(
                "max_celsius", .number, range: -273...1000,
                doc: "Failed when any zone is at or above this temperature (unset: only trip points apply)."),
            ParameterSpec(
                "max_throttle_events", .integer, default: .integer(100), range: 0...9.2e18,
                doc: "Failed when the CPU core and package throttle counters, summed over all CPUs, grew by more "
                    + "than this since the previous run (default 100; 0: any throttling fails; the first run only "
                    + "records)."),
            ParameterSpec(
                "require_sensors", .boolean, default: .boolean(false),
                doc: "When true, a node exposing no thermal zones and no throttle counters is unknown, not passed."),
        ],
        summary: "thermal zones vs their hot/critical trip points; CPU thermal throttling since the previous run")

    /// Bounds on what is read from sysfs.
    static let maxZones = 1024
    static let maxTripPoints = 64
    static let maxCPUs = 8192

    public let environment: ProbeEnvironment
    private let counters = PerCheckMemory<[String: UInt64]>()

    public init(environment: ProbeEnvironment) { self.environment = environment }

    private struct Zone {
        var name: String
        var type: String
        var celsius: Double
        var breach: String?
    }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (maxCelsius: Double?, maxThrottle: Int, requireSensors: Bool)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (maxCelsius, maxThrottle, requireSensors) = settings

        var zones: [Zone] = []
        var unreadable: [String] = []
        let thermalRoot = environment.hostPath("/sys/class/thermal")
        if case .success(let names) = HostFile.numberedEntries(thermalRoot, prefix: "thermal_zone") {
            for name in names.prefix(Self.maxZones) {
                switch readZone(directory: thermalRoot + "/" + name, name: name, maxCelsius: maxCelsius) {
                case .success(let zone): zones.append(zone)
                case .failure(let problem): unreadable.append(problem.description)
                }
            }
        }
        let throttle = readThrottleCounters()
        unreadable += throttle.problems

        if zones.isEmpty && throttle.counters.isEmpty {
            if !unreadable.isEmpty {
                return .unknown("no thermal sensor could be read: " + unreadable.prefix(3).joined(separator: "; "))
            }
            return requireSensors
                ? .unknown("no thermal sensors exposed (require_sensors is set)")
                : .passed("no thermal sensors exposed")
        }

        var values: [String: Double] = [:]
        for zone in zones { values["\(zone.name)_celsius"] = zone.celsius }
        if let hottest = zones.max(by: { $0.celsius < $1.celsius }) { values["max_celsius"] = hottest.celsius }

        let throttleDelta: UInt64? = counters.update(request.stateKey, now: .now) { previous in
            defer { previous = throttle.counters }
            guard let previous else { return nil }
            var delta: UInt64 = 0
            for (path, count) in throttle.counters {
                // A counter that went down (CPU re-onlined, driver reloaded) restarts: count none for this run.
                if let before = previous[path], count > before { delta &+= count - before }
            }
            return delta
        }
        if let throttleDelta { values["throttle_events"] = Double(throttleDelta) }

        var problems = zones.compactMap(\.breach)
        if let throttleDelta, throttleDelta > UInt64(maxThrottle) {
            problems.append(
                "CPU thermal throttling: \(throttleDelta) events since the previous run (max \(maxThrottle))")
        }
        var summary: [String] = []
        if let hottest = zones.max(by: { $0.celsius < $1.celsius }) {
            summary.append(
                "\(zones.count) zone(s), hottest \(hottest.name) (\(hottest.type)) "
                    + "\(ReadableUnits.decimal(hottest.celsius, places: 1)) °C")
        }
        if !throttle.counters.isEmpty {
            summary.append(
                throttleDelta.map { "\($0) throttle events since the previous run" }
                    ?? "throttle counters recorded (first run)")
        }
        if !unreadable.isEmpty { summary.append("skipped \(unreadable.count) unreadable sensor file(s)") }
        if problems.isEmpty {
            return .passed(summary.joined(separator: "; "), values: values)
        }
        return .failed(problems.joined(separator: "; "), values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let maxCelsius = try parameters.number("max_celsius")
        let maxThrottle = try parameters.integer("max_throttle_events") ?? 100
        let requireSensors = try parameters.boolean("require_sensors") ?? false
        return (maxCelsius, maxThrottle, requireSensors)
    }

    private func readZone(directory: String, name: String, maxCelsius: Double?) -> Result<Zone, SensorFileError> {
        let temperature: Int64
        switch HostFile.integer(directory + "/temp") {
        case .success(let value): temperature = value
        case .failure(let problem): return .failure(problem)
        }
        let type = (try? HostFile.text(directory + "/type", limit: 4096).get())?.trimmed ?? name
        let celsius = Double(temperature) / 1000
        var breach: String?
        for index in 0..<Self.maxTripPoints {
            let tripPath = directory + "/trip_point_\(index)_temp"
            guard HostFile.exists(tripPath) else { break }
            guard case .success(let tripTemperature) = HostFile.integer(tripPath), tripTemperature > 0 else { continue }
            let tripType = (try? HostFile.text(directory + "/trip_point_\(index)_type", limit: 4096).get())?.trimmed
            guard tripType == "critical" || tripType == "hot", temperature >= tripTemperature else { continue }
            breach =
                "\(name) (\(type)) at \(ReadableUnits.decimal(celsius, places: 1)) °C reached its \(tripType ?? "") "
                + "trip point \(ReadableUnits.decimal(Double(tripTemperature) / 1000, places: 1)) °C"
            if tripType == "critical" { break }
        }
        if breach == nil, let maxCelsius, celsius >= maxCelsius {
            breach =
                "\(name) (\(type)) at \(ReadableUnits.decimal(celsius, places: 1)) °C, at or above max_celsius "
                + "\(ReadableUnits.decimal(maxCelsius, places: 1)) °C"
        }
        return .success(Zone(name: name, type: type, celsius: celsius, breach: breach))
    }

    private func readThrottleCounters() -> (counters: [String: UInt64], problems: [String]) {
        let cpuRoot = environment.hostPath("/sys/devices/system/cpu")
        guard case .success(let cpus) = HostFile.numberedEntries(cpuRoot, prefix: "cpu") else { return ([:], []) }
        var counters: [String: UInt64] = [:]
        var problems: [String] = []
        for cpu in cpus.prefix(Self.maxCPUs) {
            for file in ["core_throttle_count", "package_throttle_count"] {
                let path = "\(cpuRoot)/\(cpu)/thermal_throttle/\(file)"
                switch HostFile.integer(path) {
                case .success(let count) where count >= 0: counters["\(cpu)/\(file)"] = UInt64(count)
                case .success: problems.append("\(path): negative counter")
                case .failure(let problem) where !problem.missing: problems.append(problem.description)
                case .failure: break
                }
            }
        }
        return (counters, problems)
    }
}

import Foundation
import HealthCore
import HealthBlock
import ProbeKit

/// `host.smart`: the node's ATA disks through libatasmart: overall status (self-assessment, pre-fail attributes),
/// bad (reallocated + pending) sectors, temperature, power-on time. A disk in standby is never woken: its power mode
/// is read first and a sleeping disk is skipped. Disks without SMART (virtio, NVMe) are left out; a node with none
/// passes, saying so. `blob:/path` entries read a saved SMART blob instead of a device (offline analysis, tests).
public struct SMARTProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "host.smart", category: .system, targets: [.node],
        parameters: [
            ParameterSpec(
                "devices", .stringList, default: .stringList([]),
                doc: "Disks to read (/dev/sda, or blob:/path for a saved blob); empty: every sd*/hd* in /sys/block."),
            ParameterSpec(
                "max_temperature", .number, default: .number(60), range: 0...150,
                doc: "Fail above this temperature, in degrees Celsius."),
            ParameterSpec(
                "max_bad_sectors", .integer, default: .integer(0), range: 0...1e12,
                doc: "Fail when reallocated plus pending sectors exceed this."),
        ],
        summary: "disk health via libatasmart: overall status, bad sectors, temperature (never wakes a sleeping disk)")

    /// At most this many disks are read per run.
    static let maxDisks = 64

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (devices: [String], maxTemperature: Double, maxBad: Int)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (_, maxTemperature, maxBad) = settings
        let devices = settings.devices.isEmpty ? discover() : settings.devices
        var failures: [String] = []
        var notes: [String] = []
        var troubles: [String] = []
        var values: [String: Double] = [:]
        var read = 0
        for device in devices.prefix(Self.maxDisks) {
            if Task.isCancelled { return .unknown("cancelled") }
            let name = device.hasPrefix("blob:") ? String(device.dropFirst(5)) : device
            let short = (name as NSString).lastPathComponent
            // A disk the kernel has runtime-suspended is asleep: not even opened.
            let runtime = environment.hostPath("/sys/block/\(short)/device/power/runtime_status")
            if !device.hasPrefix("blob:"), (try? String(contentsOfFile: runtime, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == "suspended"
            {
                notes.append("\(short) suspended (not read)")
                continue
            }
            switch await reading(device) {
            case .failure(let error): troubles.append("\(short): \(error)")
            case .success(.asleep): notes.append("\(short) in standby (not read)")
            case .success(.unsupported): continue
            case .success(.report(let report)):
                read += 1
                if let temperature = report.temperatureCelsius { values["temperature_celsius_\(short)"] = temperature }
                if let bad = report.badSectors { values["bad_sectors_\(short)"] = Double(bad) }
                if let hours = report.powerOnHours { values["power_on_hours_\(short)"] = hours }
                var problems: [String] = []
                // libatasmart calls any bad sector "bad"; max_bad_sectors decides that part.
                if report.overall.isBad, report.overall != .badSector { problems.append(report.overall.rawValue) }
                if let bad = report.badSectors, bad > UInt64(maxBad) {
                    problems.append("\(bad) bad sectors (reallocated + pending)")
                }
                if let temperature = report.temperatureCelsius, temperature > maxTemperature {
                    problems.append("\(Int(temperature)) °C (over \(Int(maxTemperature)) °C)")
                }
                if problems.isEmpty {
                    notes.append(Self.summary(short, report))
                } else {
                    failures.append("\(short)\(report.model.map { " (\($0))" } ?? ""): "
                        + problems.joined(separator: ", "))
                }
            }
        }
        values["disks"] = Double(read)
        if !failures.isEmpty { return .failed(failures.prefix(8).joined(separator: "; "), values: values) }
        if !troubles.isEmpty { return .unknown(troubles.prefix(4).joined(separator: "; "), values: values) }
        if read == 0 && notes.isEmpty { return .passed("no SMART-capable disks", values: values) }
        return .passed(notes.prefix(8).joined(separator: "; "), values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let devices = try parameters.stringList("devices") ?? []
        let maxTemperature = try parameters.number("max_temperature") ?? 60
        let maxBad = try parameters.integer("max_bad_sectors") ?? 0
        return (devices, maxTemperature, maxBad)
    }

    private func reading(_ device: String) async -> Result<SMARTReading, SMARTError> {
        guard device.hasPrefix("blob:") else { return await SMARTReader.read(device: device) }
        let path = String(device.dropFirst(5))
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return .failure(SMARTError("cannot open \(path)"))
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: SMARTReader.maxBlobBytes + 1)) ?? Data()
        return SMARTReader.read(blob: Array(data))
    }

    /// `sd*` and `hd*` disks of `/sys/block` (virtio, NVMe, loop, dm and md devices have no ATA SMART).
    private func discover() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: environment.hostPath("/sys/block"))) ?? []
        return names.filter { $0.hasPrefix("sd") || $0.hasPrefix("hd") }.sorted().prefix(Self.maxDisks)
            .map { "/dev/" + $0 }
    }

    static func summary(_ name: String, _ report: SMARTReport) -> String {
        var parts = ["\(name) \(report.overall.rawValue)"]
        if let temperature = report.temperatureCelsius { parts.append("\(Int(temperature)) °C") }
        if let hours = report.powerOnHours { parts.append("\(Int(hours)) h on") }
        if let bad = report.badSectors, bad > 0 { parts.append("\(bad) bad sectors") }
        return parts.joined(separator: ", ")
    }
}

import Foundation
import HealthCore
import HealthBlock
import ProbeKit

/// `nbd.device`: kernel NBD devices (`/dev/nbdX`) where a host reaches volumes through the kernel client, and the
/// paths of dm-multipath maps. With `device` set, that device must be connected (`/sys/block/nbdX/pid` names a live
/// process) and have a size (`ioctl(BLKGETSIZE64)`); without it, every connected `nbd*` device of the node is looked
/// at. Every dm-multipath map (`multipath` set: that one) must have all its paths running. A host with neither
/// passes, saying there is nothing to check.
public struct NBDDeviceProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "nbd.device", category: .ebs, targets: [.volume, .node],
        parameters: [
            ParameterSpec(
                "device", .string, default: .string(""),
                doc: "The kernel NBD device of the volume (/dev/nbd0); empty: every connected nbd device."),
            ParameterSpec(
                "multipath", .string, default: .string(""),
                doc: "The dm-multipath map to check (dm-3 or its alias); empty: every map of the host."),
        ],
        timeoutClass: .ebs,
        summary: "kernel NBD devices connected (BLKGETSIZE64, sysfs pid) and dm-multipath paths all running")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (device: String, multipath: String)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (device, multipath) = settings
        let sysRoot = environment.hostPath("/sys")
        var failures: [String] = []
        var notes: [String] = []
        var values: [String: Double] = [:]

        let states: [BlockDevice.NBDState]
        if device.isEmpty {
            states = BlockDevice.nbdDevices(sysRoot: sysRoot).filter { $0.pid != nil }
        } else {
            let name = (device as NSString).lastPathComponent
            guard name.hasPrefix("nbd") else { return .unknown("parameter 'device': \(device) is not an nbd device") }
            states = [BlockDevice.nbdState(name, sysRoot: sysRoot)]
        }
        for state in states {
            guard let pid = state.pid else {
                failures.append("\(state.name): not connected (no client pid in sysfs)")
                continue
            }
            guard FileManager.default.fileExists(atPath: environment.hostPath("/proc/\(pid)")) else {
                failures.append("\(state.name): its client process \(pid) is gone")
                continue
            }
            switch BlockDevice.size(path: environment.hostPath("/dev/" + state.name)) {
            case .success(let bytes) where bytes > 0:
                values["size_bytes_\(state.name)"] = Double(bytes)
                notes.append("\(state.name) connected (pid \(pid))")
            case .success:
                failures.append("\(state.name): size 0 (disconnected)")
            case .failure(let error):
                // No /dev node (a fixture tree, a container): sysfs's size stands in.
                if let sectors = state.sectors, sectors > 0 {
                    notes.append("\(state.name) connected (pid \(pid); \(error))")
                } else {
                    failures.append("\(state.name): \(error)")
                }
            }
        }
        values["nbd_devices"] = Double(states.count)

        var maps = BlockDevice.multipathMaps(sysRoot: sysRoot)
        if !multipath.isEmpty {
            maps = maps.filter { $0.name == multipath || $0.alias == multipath }
            if maps.isEmpty { failures.append("multipath map \(multipath) not found") }
        }
        for map in maps {
            let failed = map.failedPaths
            if map.paths.isEmpty {
                failures.append("multipath \(map.alias): no paths")
            } else if !failed.isEmpty {
                failures.append(
                    "multipath \(map.alias): \(failed.count) of \(map.paths.count) paths down ("
                        + failed.map { "\($0) \(map.paths[$0] ?? "?")" }.joined(separator: ", ") + ")")
            } else {
                notes.append("multipath \(map.alias): \(map.paths.count) paths running")
            }
        }
        values["multipath_maps"] = Double(maps.count)
        if !failures.isEmpty { return .failed(failures.prefix(8).joined(separator: "; "), values: values) }
        if notes.isEmpty { return .passed("no kernel NBD devices or multipath maps in use", values: values) }
        return .passed(notes.prefix(8).joined(separator: "; "), values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let device = try parameters.string("device") ?? ""
        let multipath = try parameters.string("multipath") ?? ""
        return (device, multipath)
    }
}

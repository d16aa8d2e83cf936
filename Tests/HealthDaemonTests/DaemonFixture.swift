import Foundation
import HealthCore
import HealthDaemon
import HealthProbes

/// A temporary folder with a checks.d, an inventory file and a state directory, removed by ``remove()``.
struct DaemonFixture {
    let root: URL
    var checks: URL { root.appending(path: "checks.d") }
    var inventory: URL { root.appending(path: "instances.json") }
    var state: URL { root.appending(path: "state") }
    var runtime: URL { root.appending(path: "run") }

    init() throws {
        root = FileManager.default.temporaryDirectory.appending(path: "hive-health-daemon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: checks, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true)
    }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: checks.appending(path: name))
    }

    /// An inventory of running instances whose pid files are `<run>/<id>.pid`.
    /// Launched an hour ago: past the launch grace period.
    func writeInventory(ids: [String]) throws {
        let launched = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
        let vms = ids.map { id in
            """
            "\(id)": {"id": "\(id)", "status": "running", "config": {"pid_file": "\(runtime.path)/\(id).pid"},
                       "instance": {"LaunchTime": "\(launched)"}}
            """
        }.joined(separator: ",\n")
        try Data("{\"vms\": {\(vms)}}".utf8).write(to: inventory)
    }

    func options() -> DaemonOptions {
        DaemonOptions(
            checksDirectory: checks.path, inventory: "file:\(inventory.path)", node: "node-test",
            stateDirectory: state.path)
    }

    func setup() throws -> DaemonSetup {
        try DaemonSetup.resolve(options(), registry: try ProbeRegistry(HealthProbesRegistry.probeTypes))
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

extension HealthDaemon.Timing {
    static var fast: HealthDaemon.Timing {
        var timing = HealthDaemon.Timing()
        timing.inventoryRefresh = .milliseconds(200)
        timing.catalogueCheck = .milliseconds(200)
        timing.persistence = .milliseconds(100)
        timing.counterPersistence = .milliseconds(500)
        timing.eventDrain = .milliseconds(100)
        timing.qmpWatchRefresh = .milliseconds(100)
        return timing
    }
}

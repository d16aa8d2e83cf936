import Foundation
import HealthCore
import Logging
import Synchronization

/// A temporary directory for one test, removed by `remove()`.
struct FixtureTree {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("probes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Writes `contents` at `relative` (e.g. `proc/meminfo`), creating directories.
    func write(_ relative: String, _ contents: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Writes an executable `#!/bin/sh` script and returns its path.
    func script(_ name: String, _ body: String) throws -> String {
        try write(name, "#!/bin/sh\n" + body + "\n")
        let path = root + "/" + name
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    var environment: ProbeEnvironment { ProbeEnvironment(hostRoot: root, runtimeDirectory: root) }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

let testNode = NodeInfo(name: "node-a", region: "ap-southeast-2", availabilityZone: "ap-southeast-2a")

func makeRequest(
    check: String = "check", target: Target = .node(testNode), _ parameters: [String: ParameterValue] = [:]
) -> ProbeRequest {
    ProbeRequest(
        checkName: check, target: target, node: testNode, parameters: ProbeParameters(parameters),
        timeout: .seconds(10), logger: Logger(label: "probes-test"))
}

func instanceTarget(pidFile: String) -> Target {
    .instance(InstanceInfo(id: "i-0123456789abcdef0", node: testNode.name, pidFile: pidFile))
}

/// A clock the test moves by hand.
final class ManualInstant: Sendable {
    private let base = ContinuousClock.now
    private let offset = Mutex(Duration.zero)

    func now() -> ContinuousClock.Instant { base + offset.withLock { $0 } }

    func advance(by duration: Duration) { offset.withLock { $0 += duration } }
}

/// Polls `condition` until it holds or `deadline` passes; true when it held.
func eventually(
    within deadline: Duration = .seconds(10), _ condition: () -> Bool
) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while clock.now < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A `/proc/<pid>/stat` line with the given fields (the rest plausible).
func statLine(
    pid: Int, comm: String = "qemu-system-x86", state: Character = "S", utime: UInt64 = 100, stime: UInt64 = 50,
    threads: Int = 4, startTime: UInt64 = 12345, rssPages: Int = 2560
) -> String {
    "\(pid) (\(comm)) \(state) 1 \(pid) \(pid) 0 -1 4194560 1000 0 0 0 \(utime) \(stime) 0 0 20 0 \(threads) 0 "
        + "\(startTime) 1073741824 \(rssPages) 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
}

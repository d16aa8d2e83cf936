import Foundation
import HealthTestKit
import Testing

/// The README's demo (`scripts/demo.sh` runs `hive-health-demo`): it comes up, shows the three instances ok through
/// the API, and on Ctrl-C (SIGINT) stops everything it started: no process of its runtime folder, no namespace left.
/// In the end-to-end suite, so it never runs beside the other end-to-end test.
extension InstanceLifecycleTests {
    static var demoExecutable: String {
        URL(fileURLWithPath: HiveHealthDaemonProcess.executable).deletingLastPathComponent()
            .appending(path: "hive-health-demo").path
    }

    /// Pids whose command line mentions `text`.
    static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }

    @Test("the demo shows three instances ok; SIGINT stops every process it started and removes its namespace")
    func demoStartsAndStops() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-demo")
        defer { folder.remove() }
        let output = folder.file("demo.out")
        let demo = try ChildProcess(
            Self.demoExecutable, ["--checks", InstanceLifecycleTests.shippedChecks], log: output)
        defer { demo.stop() }
        func text() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        // Three instances, each ok in its three categories, within a generous start-up budget.
        let allOK = await eventually(timeout: .seconds(120), poll: .milliseconds(200)) {
            let last = text().components(separatedBy: "DescribeInstanceStatus:").last ?? ""
            let rows = last.split(separator: "\n").filter { $0.contains("  i-") }
            return rows.count == 3 && rows.allSatisfy { $0.contains("system ok  instance ok  ebs ok") }
                || !demo.isRunning
        }
        #expect(allOK && demo.isRunning, "\(text().suffix(3000))")
        let runtime = try #require(
            text().components(separatedBy: "Runtime directory (pid files, sockets, console logs): ").dropFirst().first?
                .split(separator: "\n").first.map(String.init), "\(text())")
        let namespace = try #require(
            text().components(separatedBy: "ip -n ").dropFirst().first?.split(separator: " ").first.map(String.init))
        #expect(!Self.processes(mentioning: runtime).isEmpty)

        demo.signal(SIGINT)
        let exited = await eventually(timeout: .seconds(60), poll: .milliseconds(100)) { !demo.isRunning }
        #expect(exited, "\(text().suffix(2000))")
        #expect(text().contains("stopped."), "\(text().suffix(2000))")
        let leftovers = Self.processes(mentioning: runtime)
        #expect(leftovers.isEmpty, "left behind: \(leftovers)")
        for pid in leftovers { kill(pid, SIGKILL) }
        let namespaces = try await HiveInstanceLauncher.tool("ip", ["netns", "list"])
        #expect(!namespaces.contains(namespace), "\(namespaces)")
        #expect(!FileManager.default.fileExists(atPath: runtime))
    }
}

import Foundation
import HealthTestKit
import Testing

/// `scripts/package.sh` makes a Debian package that dpkg installs, whose binary runs with the installed files, and
/// that dpkg removes again. It is installed into a scratch root (`dpkg --root`), never onto this machine: an
/// installed /etc/hive-health/checks.d would change what other tests' daemons load.
@Suite("The Debian package", .serialized)
struct DebianPackageTests {
    @Test("package.sh builds a .deb; dpkg installs it, the installed binary runs on the installed files, dpkg purges it")
    func packageInstallsRunsAndRemoves() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let root = HiveHealthBinary.packageRoot
        let built = try await ChildCommand.run(
            [
                "/bin/bash", root.appending(path: "scripts/package.sh").path, "--binary", HiveHealthBinary.path,
                "--output", folder.url.appending(path: "out").path, "--version", "0.1.0+test1",
                // A debug binary is large; compressing it is not what is tested.
                "--compression", "none",
            ], timeout: .seconds(300))
        #expect(built.status == 0, "\(built.stdout)\(built.stderr)")
        let deb = try #require(built.stdout.split(separator: "\n").last.map(String.init))
        #expect(deb.hasSuffix("hive-health_0.1.0+test1_amd64.deb"), "\(deb)")

        let info = try await ChildCommand.run(["/usr/bin/dpkg-deb", "--field", deb, "Package", "Version", "Depends"])
        #expect(info.stdout.contains("Package: hive-health"), "\(info.stdout)")
        #expect(info.stdout.contains("Version: 0.1.0+test1"), "\(info.stdout)")
        // The C libraries of the systemLibrary targets come from Debian packages.
        #expect(info.stdout.contains("libnats"), "\(info.stdout)")
        #expect(info.stdout.contains("libatasmart"), "\(info.stdout)")
        // The catalogue is configuration: dpkg keeps an operator's edits across upgrades.
        let conffiles = try await ChildCommand.run(["/usr/bin/dpkg-deb", "--info", deb, "conffiles"])
        #expect(conffiles.stdout.contains("/etc/hive-health/checks.d/10-host.yaml"), "\(conffiles.stdout)")
        #expect(conffiles.stdout.contains("/etc/hive-health/checks.d/environments/production.yaml"))

        // A scratch root whose dpkg database knows the dependencies as installed (they are, on this machine).
        let scratch = folder.url.appending(path: "root")
        let admin = scratch.appending(path: "var/lib/dpkg")
        for sub in ["info", "updates", "triggers"] {
            try FileManager.default.createDirectory(at: admin.appending(path: sub), withIntermediateDirectories: true)
        }
        try Data().write(to: admin.appending(path: "available"))
        let dependsLine = info.stdout.split(separator: "\n").first { $0.hasPrefix("Depends: ") } ?? ""
        let depends = dependsLine.dropFirst("Depends: ".count).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var status = ""
        for package in depends where !package.isEmpty {
            let stanza = try await ChildCommand.run(["/usr/bin/dpkg-query", "--status", package])
            #expect(stanza.status == 0, "\(package): \(stanza.stderr)")
            status += stanza.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "\n\n"
            let name = package.split(separator: ":").first.map(String.init) ?? package
            try Data().write(to: admin.appending(path: "info/\(name).list"))
        }
        try Data(status.utf8).write(to: admin.appending(path: "status"))
        let dpkg = ["/usr/bin/dpkg", "--root=\(scratch.path)", "--force-script-chrootless", "--log=/dev/null"]
        let install = try await ChildCommand.run(dpkg + ["--install", deb], timeout: .seconds(120))
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        let listed = try await ChildCommand.run(
            ["/usr/bin/dpkg-query", "--admindir=\(admin.path)", "-W", "-f", "${Status} ${Version}", "hive-health"])
        #expect(listed.stdout == "install ok installed 0.1.0+test1", "\(listed.stdout)\(listed.stderr)")

        let binary = scratch.appending(path: "usr/bin/hive-health").path
        let checks = scratch.appending(path: "etc/hive-health/checks.d").path
        let example = scratch.appending(path: "usr/share/doc/hive-health/examples/health.toml").path
        let unitFile = scratch.appending(path: "lib/systemd/system/hive-health.service")
        let unit = try String(contentsOf: unitFile, encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/hive-health run"), "\(unit)")
        for file in ["prometheus/hive-health.rules.yml", "grafana/hive-health.json"] {
            let path = scratch.appending(path: "usr/share/hive-health/\(file)").path
            #expect(FileManager.default.fileExists(atPath: path), "\(path)")
        }
        let validate = try await ChildCommand.run([binary, "validate", checks, "--config", example])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        let inventory = folder.url.appending(path: "instances.json")
        try Data(#"{"vms": {"i-0d1": {"id": "i-0d1", "status": "running"}}}"#.utf8).write(to: inventory)
        let check = try await ChildCommand.run(
            [
                binary, "check", "--checks", checks, "--config", example, "--inventory", "file:\(inventory.path)",
                "--state-dir", folder.url.appending(path: "state").path, "--node", "node-deb", "--format", "json",
            ], timeout: .seconds(120))
        // 0 all passed, 1 a check failed, 3 only insufficient data: this machine's hardware decides which.
        #expect([0, 1, 3].contains(check.status), "\(check.stdout)\(check.stderr)")
        let report = try #require(try jsonObject(check.stdout) as? [String: Any], "\(check.stdout)\(check.stderr)")
        #expect((report["node"] as? [String: Any])?["name"] as? String == "node-deb")
        #expect((report["instances"] as? [[String: Any]])?.first?["instance_id"] as? String == "i-0d1")

        let purge = try await ChildCommand.run(dpkg + ["--purge", "hive-health"], timeout: .seconds(120))
        #expect(purge.status == 0, "\(purge.stdout)\(purge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: binary))
        #expect(!FileManager.default.fileExists(atPath: checks))
    }
}

import Foundation

/// A real `ovsdb-server` on a fresh Open_vSwitch database in a temp folder (never the system one), with
/// `ovs-vsctl --no-wait` to change rows. No ovs-vswitchd: rows are written as it would write them.
public final class OVSDBFixture: @unchecked Sendable {
    // Mutated only from the test's own task (start/stop/restart), never concurrently.
    public let folder: ShortTemporaryFolder
    public private(set) var server: ChildProcess?
    public var socket: String { folder.file("db.sock") }
    public var database: String { folder.file("conf.db") }

    public static let schema = "/usr/share/openvswitch/vswitch.ovsschema"

    public init() async throws {
        folder = try ShortTemporaryFolder(prefix: "hh-ovs")
        try Self.run("ovsdb-tool", ["create", database, Self.schema])
        try await start()
        try vsctl(["init"])
    }

    public func start() async throws {
        let server = try ChildProcess(
            "ovsdb-server",
            [
                database, "--remote=punix:\(socket)", "--unixctl=\(folder.file("ovsdb.ctl"))", "--no-chdir",
                "--log-file=\(folder.file("ovsdb.log"))", "--pidfile=\(folder.file("ovsdb.pid"))",
            ])
        self.server = server
        guard await waitForListener(socket, timeout: .seconds(20)) else {
            throw Failure("ovsdb-server did not listen on \(socket)")
        }
    }

    /// Kills the server (SIGKILL) and removes its socket, as a crash would leave it gone.
    public func kill() {
        server?.stop()
        server = nil
        try? FileManager.default.removeItem(atPath: socket)
    }

    public func stop() {
        kill()
        folder.remove()
    }

    /// `ovs-vsctl --db=unix:<socket> --no-wait <arguments>`.
    public func vsctl(_ arguments: [String]) throws {
        try Self.run("ovs-vsctl", ["--db=unix:\(socket)", "--no-wait", "--timeout=10"] + arguments)
    }

    /// Adds `tap` to `bridge` as a healthy instance port: iface-id, ofport, admin and link up.
    public func addHealthyPort(_ tap: String, eni: String, bridge: String = "br-int", ofport: Int = 7) throws {
        try vsctl(["--may-exist", "add-br", bridge])
        try vsctl([
            "add-port", bridge, tap, "--", "set", "Interface", tap, "external_ids:iface-id=port-\(eni)",
            "ofport=\(ofport)", "admin_state=up", "link_state=up",
        ])
    }

    /// Spinifex's layout of a primary ENI (spinifex/network/host/imds_patch.go `installTapPatch`, imds_datapath.go
    /// names, at ddf22cac): the tap on `br-imds`, the patch pair `imp-<h>` (br-imds) <-> `imi-<h>` (br-int) with
    /// `h` = FNV-32a of the ENI id in 8 hex digits, and the OVN binding (`iface-id=port-<eni>`, `attached-mac`) on
    /// `imi-<h>`. Returns the br-int patch port's name.
    @discardableResult
    public func addSpinifexPrimaryPort(_ tap: String, eni: String, mac: String, ofport: Int = 7) throws -> String {
        let hash = Self.fnv32aHex(eni)
        let patchIMDS = "imp-" + hash
        let patchInt = "imi-" + hash
        try vsctl(["--may-exist", "add-br", "br-imds"])
        try vsctl(["--may-exist", "add-br", "br-int"])
        try vsctl([
            "add-port", "br-imds", tap, "--", "set", "Interface", tap, "ofport=\(ofport)", "admin_state=up",
            "link_state=up",
        ])
        try vsctl([
            "add-port", "br-imds", patchIMDS, "--", "set", "Interface", patchIMDS, "type=patch",
            "options:peer=\(patchInt)", "ofport=\(ofport + 100)", "admin_state=up", "link_state=up",
        ])
        try vsctl([
            "add-port", "br-int", patchInt, "--", "set", "Interface", patchInt, "type=patch",
            "options:peer=\(patchIMDS)", "external_ids:iface-id=port-\(eni)", "external_ids:attached-mac=\(mac)",
            "ofport=\(ofport + 200)", "admin_state=up", "link_state=up",
        ])
        return patchInt
    }

    /// FNV-32a, as Go's hash/fnv `New32a` (what Spinifex's `shortENIID` hashes with), in 8 lower-case hex digits.
    static func fnv32aHex(_ text: String) -> String {
        let hash = text.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Runs a tool to completion (bounded: ovs tools get --timeout), throwing with its stderr on a non-zero exit.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String], in directory: String? = nil) throws -> String {
        guard let path = ChildProcess.which(tool) else {
            throw Failure("\(tool) is not installed (scripts/test.sh installs it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure("\(tool) \(arguments.joined(separator: " ")): \(String(decoding: errorData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

import Foundation
import HealthCore
import HealthProbes
import HealthQEMU
import HealthTestKit
import Logging
import Testing

/// A fake guest agent: echoes guest-sync, answers `replies[command]` (raw JSON), else an error.
func fakeAgent(_ replies: [String: String]) -> @Sendable (FakeUnixPeer.Connection) -> Void {
    { connection in
        while let line = connection.readLine() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let command = object["execute"] as? String
            else { continue }
            if command == "guest-sync", let id = (object["arguments"] as? [String: Any])?["id"] as? NSNumber {
                connection.send(#"{"return": \#(id.intValue)}"# + "\n")
            } else if let reply = replies[command] {
                connection.send(#"{"return": \#(reply)}"# + "\n")
            } else {
                connection.send(#"{"error": {"class": "CommandNotFound", "desc": "no"}}"# + "\n")
            }
        }
    }
}

@Suite("guest.resources")
struct GuestResourcesProbeTests {
    func target(qmp: String, agent: String) -> Target {
        .instance(InstanceInfo(id: "i-0res", node: testNode.name, qmpSocket: qmp, guestAgentSocket: agent))
    }

    @Test("a real qemu-ga's guest-get-fsinfo: passes under a high limit, fails under a zero limit")
    func realAgentFilesystems() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let socket = folder.file("qga.sock")
        let agent = try await QEMUFixtures.startGuestAgent(socket: socket, stateDirectory: folder.path)
        defer { agent.stop() }
        let probe = GuestResourcesProbe(environment: ProbeEnvironment(runtimeDirectory: folder.path))
        let loose = await probe.observe(
            qmpRequest(
                target(qmp: "", agent: socket), timeout: .seconds(10),
                ["max_filesystem_percent": .number(100), "ignore_types": .stringList([])]))
        #expect(loose.outcome == .passed, "\(loose.message)")
        #expect(loose.values["filesystems"] != nil)
        if (loose.values["filesystem_fullest_percent"] ?? 0) > 0 {
            let strict = await probe.observe(
                qmpRequest(
                    target(qmp: "", agent: socket), timeout: .seconds(10),
                    ["max_filesystem_percent": .number(0), "ignore_types": .stringList([])]))
            #expect(strict.outcome == .failed)
            #expect(strict.message.contains("full"))
        }
    }

    @Test("low balloon memory fails; stats not polled yet switch polling on; frozen filesystems are suppressed")
    func balloonAndFreeze() async throws {
        // Fresh statistics (last-update now): a long-past one means nobody polls, and the probe switches polling on.
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let lowMemory = try FakeUnixPeer(
            path: folder.file("low.sock"),
            script: fakeQMP { id in
                #"{"return": {"stats": {"stat-total-memory": 1000000000, "stat-available-memory": 10000000}, "#
                    + #""last-update": \#(Int(Date().timeIntervalSince1970))}, "id": \#(id)}"#
            })
        let noData = try FakeUnixPeer(
            path: folder.file("nodata.sock"),
            script: fakeQMP { id in #"{"return": {"stats": {"stat-total-memory": -1}, "last-update": 0}, "id": \#(id)}"#
            })
        let frozen = try FakeUnixPeer(
            path: folder.file("frozen.sock"), script: fakeAgent(["guest-fsfreeze-status": #""frozen""#]))
        let peers = [lowMemory, noData, frozen]
        defer { for peer in peers { peer.stop() } }
        let pool = QMPConnectionPool()
        let probe = GuestResourcesProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let low = await probe.observe(qmpRequest(target(qmp: folder.file("low.sock"), agent: "")))
        #expect(low.outcome == .failed)
        #expect(low.message.contains("memory exhaustion"))
        #expect(low.values["memory_available_percent"] == 1)
        let waiting = await probe.observe(qmpRequest(target(qmp: folder.file("nodata.sock"), agent: "")))
        #expect(waiting.outcome == .unknown)
        #expect(waiting.message.contains("polling switched on"))
        let suppressed = await probe.observe(
            qmpRequest(target(qmp: folder.file("low.sock"), agent: folder.file("frozen.sock"))))
        #expect(suppressed.outcome == .unknown)
        #expect(suppressed.message.contains("suppressed (guest filesystems frozen)"))
        await pool.closeAll()
    }
}

@Suite("guest.resources on a real q35 QEMU")
struct GuestResourcesRealQEMUTests {
    @Test("q35 -S with a virtio-balloon: polling is switched on, no data yet is unknown; qmp.status is prelaunch")
    func balloonOnRealQEMU() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let socket = folder.file("qmp.sock")
        let process = try ChildProcess(
            "qemu-system-x86_64",
            [
                "-machine", "q35", "-S", "-accel",
                FileManager.default.isWritableFile(atPath: "/dev/kvm") ? "kvm" : "tcg",
                "-nodefaults", "-display", "none", "-m", "128", "-device", "virtio-balloon,id=balloon0",
                "-qmp", "unix:\(socket),server=on,wait=off",
            ])
        defer { process.stop() }
        #expect(await waitForListener(socket))
        let pool = QMPConnectionPool()
        let environment = ProbeEnvironment(runtimeDirectory: folder.path)
        let probe = GuestResourcesProbe(environment: environment.withQMPConnections(pool))
        let target = Target.instance(InstanceInfo(id: "i-0q35", node: testNode.name, qmpSocket: socket))
        let first = await probe.observe(qmpRequest(target, timeout: .seconds(5)))
        #expect(first.outcome == .unknown)
        #expect(first.message.contains("polling switched on"), "\(first.message)")
        let connection = try await pool.connection(to: socket, timeout: .seconds(5), logger: Logger(label: "test"))
        let interval = try await connection.execute(
            "qom-get",
            arguments: [
                "path": .string("/machine/peripheral/balloon0"), "property": .string("guest-stats-polling-interval"),
            ],
            timeout: .seconds(5))
        #expect(interval.number == 10)
        let status = await QMPStatusProbe(environment: environment.withQMPConnections(pool)).observe(qmpRequest(target))
        #expect(status.outcome == .unknown)
        #expect(status.message.contains("prelaunch"))
        await pool.closeAll()
    }
}

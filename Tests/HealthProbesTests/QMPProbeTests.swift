import Foundation
import HealthCore
import HealthProbes
import HealthQEMU
import HealthTestKit
import Logging
import Testing

/// An instance whose QMP and guest agent sockets are the given paths.
func qemuTarget(qmp: String = "", agent: String = "") -> Target {
    .instance(InstanceInfo(id: "i-0qmp", node: testNode.name, qmpSocket: qmp, guestAgentSocket: agent))
}

func qmpRequest(_ target: Target, timeout: Duration = .seconds(3), _ parameters: [String: ParameterValue] = [:])
    -> ProbeRequest
{
    ProbeRequest(
        checkName: "qmp", target: target, node: testNode, parameters: ProbeParameters(parameters), timeout: timeout,
        logger: Logger(label: "qmp-test", factory: { _ in SwiftLogNoOpLogHandler() }))
}

let greetingLine = #"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}"# + "\n"

/// A fake monitor: greeting, capabilities, then `answer(line)` for each command (nil: no answer).
func fakeQMP(_ answer: @escaping @Sendable (Int) -> String?) -> @Sendable (FakeUnixPeer.Connection) -> Void {
    { connection in
        connection.send(greetingLine)
        while let line = connection.readLine() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = (object["id"] as? NSNumber)?.intValue
            else { continue }
            if object["execute"] as? String == "qmp_capabilities" {
                connection.send(#"{"return": {}, "id": \#(id)}"# + "\n")
            } else if let reply = answer(id) {
                connection.send(reply + "\n")
            }
        }
    }
}

@Suite("qmp.status")
struct QMPStatusProbeTests {
    @Test("a real QEMU: running passes, stop is suppressed (unknown), kill -9 fails")
    func realQEMU() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let socket = folder.file("qmp.sock")
        let hive = folder.file("hive.sock")
        let qemu = try await QEMUFixtures.startQEMU(qmp: socket, extra: ["-qmp", "unix:\(hive),server=on,wait=off"])
        defer { qemu.stop() }
        #expect(await waitForListener(hive))
        let pool = QMPConnectionPool()
        let probe = QMPStatusProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let request = qmpRequest(qemuTarget(qmp: socket), timeout: .seconds(20))
        let running = await probe.observe(request)
        #expect(running.outcome == .passed, "\(running.message)")
        #expect(running.values["latency_seconds"] != nil)

        let monitor = try await QMPConnection.connect(path: hive, timeout: .seconds(5), logger: Logger(label: "op"))
        defer { monitor.close() }
        _ = try await monitor.execute("stop", timeout: .seconds(5))
        let paused = await probe.observe(request)
        #expect(paused.outcome == .unknown)
        #expect(paused.message.contains("suppressed (paused by an operator)"))
        _ = try await monitor.execute("cont", timeout: .seconds(5))
        #expect(await probe.observe(request).outcome == .passed)

        qemu.signal(SIGKILL)
        #expect(await eventually(timeout: .seconds(5)) { await probe.observe(request).outcome == .failed })
        let dead = await probe.observe(request)
        #expect(dead.message.contains("unreachable"), "\(dead.message)")
        await pool.closeAll()
    }

    @Test("hostile monitors end as unknown or failed with a message, within the timeout")
    func hostileMonitors() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let garbage = try FakeUnixPeer(path: folder.file("garbage.sock")) { connection in
            connection.send("this is not QMP\n")
            connection.waitForClose()
        }
        let huge = try FakeUnixPeer(path: folder.file("huge.sock")) { connection in
            let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
            for _ in 0..<100 where connection.send(chunk) {}
        }
        let mute = try FakeUnixPeer(path: folder.file("mute.sock")) { $0.waitForClose() }
        let deaf = try FakeUnixPeer(path: folder.file("deaf.sock"), script: fakeQMP { _ in nil })
        let panicked = try FakeUnixPeer(
            path: folder.file("panic.sock"),
            script: fakeQMP { id in
                #"{"event": "GUEST_PANICKED", "data": {"action": "pause"}}"# + "\n"
                    + #"{"return": {"status": "guest-panicked", "running": false}, "id": \#(id)}"#
            })
        let weird = try FakeUnixPeer(
            path: folder.file("weird.sock"),
            script: fakeQMP { id in #"{"return": {"status": "dancing", "running": false}, "id": \#(id)}"# })
        let peers = [garbage, huge, mute, deaf, panicked, weird]
        defer { for peer in peers { peer.stop() } }
        let pool = QMPConnectionPool()
        let probe = QMPStatusProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let clock = ContinuousClock()
        func observe(_ name: String) async -> (Observation, Duration) {
            let start = clock.now
            let observation = await probe.observe(qmpRequest(qemuTarget(qmp: folder.file(name)), timeout: .seconds(1)))
            return (observation, clock.now - start)
        }
        let (garbageResult, _) = await observe("garbage.sock")
        #expect(garbageResult.outcome == .unknown)
        #expect(garbageResult.message.contains("protocol violation"), "\(garbageResult.message)")
        let (hugeResult, hugeTime) = await observe("huge.sock")
        #expect(hugeResult.outcome == .unknown)
        #expect(hugeResult.message.contains("line over"), "\(hugeResult.message)")
        #expect(hugeTime < .seconds(10), "bounded, no hang")
        let (muteResult, muteTime) = await observe("mute.sock")
        #expect(muteResult.outcome == .unknown)
        #expect(muteResult.message.contains("greeting"), "\(muteResult.message)")
        #expect(muteTime < .seconds(10), "bounded, no hang")
        let (deafResult, deafTime) = await observe("deaf.sock")
        #expect(deafResult.outcome == .unknown)
        #expect(deafResult.message.contains("no reply"), "\(deafResult.message)")
        #expect(deafTime < .seconds(10), "bounded, no hang")
        let (panicResult, _) = await observe("panic.sock")
        #expect(panicResult.outcome == .failed)
        #expect(panicResult.message.contains("guest-panicked"))
        let (weirdResult, _) = await observe("weird.sock")
        #expect(weirdResult.outcome == .unknown)
        #expect(weirdResult.message.contains("dancing"))
        let missing = await probe.observe(qmpRequest(qemuTarget(qmp: folder.file("none.sock"))))
        #expect(missing.outcome == .failed)
        let noSocket = await probe.observe(qmpRequest(qemuTarget(qmp: "")))
        #expect(noSocket.outcome == .unknown)
        await pool.closeAll()
    }

    @Test("qmp.events: a panic event fails the check, a clean stream passes")
    func eventsProbe() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let panicked = try FakeUnixPeer(path: folder.file("panic.sock")) { connection in
            fakeQMP { _ in nil }(connection)
        }
        defer { panicked.stop() }
        let pool = QMPConnectionPool()
        let probe = QMPEventsProbe(
            environment: ProbeEnvironment(runtimeDirectory: folder.path).withQMPConnections(pool))
        let request = qmpRequest(qemuTarget(qmp: folder.file("panic.sock")))
        #expect(await probe.observe(request).outcome == .passed)

        let folder2 = try ShortTemporaryFolder()
        defer { folder2.remove() }
        let panicking = try FakeUnixPeer(path: folder2.file("p.sock")) { connection in
            connection.send(greetingLine)
            guard let line = connection.readLine(),
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = (object["id"] as? NSNumber)?.intValue
            else { return }
            connection.send(#"{"return": {}, "id": \#(id)}"# + "\n")
            connection.send(#"{"event": "GUEST_PANICKED", "data": {"action": "pause"}}"# + "\n")
            connection.waitForClose()
        }
        defer { panicking.stop() }
        let panicRequest = qmpRequest(qemuTarget(qmp: folder2.file("p.sock")))
        #expect(await eventually(timeout: .seconds(5)) { await probe.observe(panicRequest).outcome == .failed })
        #expect(await probe.observe(panicRequest).message.contains("GUEST_PANICKED"))
        await pool.closeAll()
    }
}

@Suite("qmp.guest-ping")
struct GuestPingProbeTests {
    @Test("a real qemu-ga passes; killed, it fails; a missing socket is unknown")
    func realAgent() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let socket = folder.file("qga.sock")
        let agent = try await QEMUFixtures.startGuestAgent(socket: socket, stateDirectory: folder.path)
        defer { agent.stop() }
        let probe = GuestPingProbe(environment: ProbeEnvironment(runtimeDirectory: folder.path))
        // A generous budget, for the answer too (its default is 3 s): a busy CI machine runs many suites at once, and
        // once a host-side qemu-ga took longer; the answer comes as soon as qemu-ga sends it.
        let request = qmpRequest(
            qemuTarget(agent: socket), timeout: .seconds(20), ["response_timeout": .duration(.seconds(20))])
        for _ in 0..<3 {
            let observation = await probe.observe(request)
            #expect(observation.outcome == .passed, "\(observation.message)")
        }
        agent.stop()
        let killed = await probe.observe(request)
        #expect(killed.outcome != .passed)
        #expect(!killed.message.isEmpty)
        let missing = await probe.observe(qmpRequest(qemuTarget(agent: folder.file("none.sock"))))
        #expect(missing.outcome == .unknown)
    }

    @Test("an agent that never answers fails in time; garbage is unknown")
    func hostileAgents() async throws {
        let folder = try ShortTemporaryFolder()
        defer { folder.remove() }
        let mute = try FakeUnixPeer(path: folder.file("mute.sock")) { $0.waitForClose() }
        let garbage = try FakeUnixPeer(path: folder.file("garbage.sock")) { connection in
            _ = connection.readLine()
            let chunk = [UInt8](repeating: 0x7B, count: 1 << 20)
            for _ in 0..<100 where connection.send(chunk) {}
        }
        defer {
            mute.stop()
            garbage.stop()
        }
        let probe = GuestPingProbe(environment: ProbeEnvironment(runtimeDirectory: folder.path))
        let clock = ContinuousClock()
        let start = clock.now
        let silent = await probe.observe(
            qmpRequest(qemuTarget(agent: folder.file("mute.sock")), ["response_timeout": .duration(.milliseconds(300))])
        )
        #expect(silent.outcome == .failed)
        #expect(silent.message.contains("did not answer"))
        #expect(clock.now - start < .seconds(10), "bounded, no hang")
        let flood = await probe.observe(qmpRequest(qemuTarget(agent: folder.file("garbage.sock")), timeout: .seconds(20)))
        #expect(flood.outcome == .unknown, "\(flood.message)")
        #expect(flood.message.contains("line"), "\(flood.message)")
    }
}

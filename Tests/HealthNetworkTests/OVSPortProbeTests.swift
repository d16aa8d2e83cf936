import Foundation
import HealthCore
import HealthNetwork
import HealthProbes
import HealthTestKit
import Testing

@Suite("ovs.port against a real ovsdb-server", .serialized)
struct OVSPortProbeTests {
    /// This test's shared clients: the probe's OVSDB monitors, shut down by the test.
    let environment = ProbeEnvironment(logger: testLogger)
    var probe: OVSPortProbe { OVSPortProbe(environment: environment) }

    /// Runs the probe until `predicate` holds on its observation (updates arrive asynchronously), for at most 10 s.
    func observe(
        _ fixture: OVSDBFixture, _ extra: [String: ParameterValue] = [:],
        until predicate: @escaping (Observation) -> Bool
    ) async -> Observation {
        var parameters: [String: ParameterValue] = ["db_socket": .string(fixture.socket), "fallback": .boolean(false)]
        parameters.merge(extra) { $1 }
        var last = Observation.unknown("not run")
        _ = await eventually(timeout: .seconds(10), poll: .milliseconds(20)) {
            last = await probe.observe(instanceRequest("ovs.port", parameters: parameters))
            return predicate(last)
        }
        return last
    }

    @Test("a healthy port passes; each fault fails with its cause named")
    func faults() async throws {
        let fixture = try await OVSDBFixture()
        defer { fixture.stop() }
        defer { Task { await environment.ovsdbMonitor(socketPath: fixture.socket).shutdown() } }
        let tap = "tap0abc1234"
        try fixture.addHealthyPort(tap, eni: "eni-0abc1234")
        var seen = await observe(fixture) { $0.outcome == .passed }
        #expect(seen.outcome == .passed, "\(seen.message)")
        #expect(seen.values["ofport"] == 7)

        let faults: [([String], String)] = [
            (["set", "Interface", tap, "ofport=-1"], "ofport -1"),
            (["set", "Interface", tap, "ofport=7", "error=\"could not open network device\""], "could not open"),
            (
                ["clear", "Interface", tap, "error", "--", "set", "Interface", tap, "link_state=down"],
                "link state down"
            ),
            (["set", "Interface", tap, "link_state=up", "admin_state=down"], "admin state down"),
            (
                ["set", "Interface", tap, "admin_state=up", "external_ids:iface-id=port-eni-other"],
                "iface-id port-eni-other"
            ),
        ]
        for (command, cause) in faults {
            try fixture.vsctl(command)
            seen = await observe(fixture) { $0.message.contains(cause) }
            #expect(seen.outcome == .failed, "\(command): \(seen.message)")
            #expect(seen.message.contains(cause), "\(command): \(seen.message)")
        }
        try fixture.vsctl(["set", "Interface", tap, "external_ids:iface-id=port-eni-0abc1234"])
        seen = await observe(fixture) { $0.outcome == .passed }
        #expect(seen.outcome == .passed, "\(seen.message)")

        try fixture.vsctl(["add-br", "br-ex", "--", "del-port", "br-int", tap, "--", "add-port", "br-ex", tap])
        seen = await observe(fixture) { $0.message.contains("br-ex") }
        #expect(seen.outcome == .failed && seen.message.contains("on bridge br-ex, not br-int"), "\(seen.message)")

        try fixture.vsctl(["del-port", "br-ex", tap])
        seen = await observe(fixture) { $0.message.contains("no such interface") }
        #expect(seen.outcome == .failed, "\(seen.message)")
    }

    @Test("ovsdb-server killed: unknown naming the socket; restarted: the monitor reconnects and passes again")
    func reconnects() async throws {
        let fixture = try await OVSDBFixture()
        defer { fixture.stop() }
        let monitor = environment.ovsdbMonitor(socketPath: fixture.socket)
        defer { Task { await monitor.shutdown() } }
        try fixture.addHealthyPort("tap0abc1234", eni: "eni-0abc1234")
        var seen = await observe(fixture) { $0.outcome == .passed }
        #expect(seen.outcome == .passed, "\(seen.message)")

        fixture.kill()
        seen = await observe(fixture) { $0.outcome == .unknown }
        #expect(seen.outcome == .unknown, "\(seen.message)")
        #expect(seen.message.contains(fixture.socket), "\(seen.message)")

        try await fixture.start()
        // admin_state and link_state are ephemeral columns: gone after a restart until ovs-vswitchd writes them.
        seen = await observe(fixture) { $0.outcome != .unknown }
        #expect(seen.outcome == .failed && seen.message.contains("link state unknown"), "\(seen.message)")
        #expect(await monitor.connections >= 2)
        try fixture.vsctl(["set", "Interface", "tap0abc1234", "admin_state=up", "link_state=up"])
        seen = await observe(fixture) { $0.outcome == .passed }
        #expect(seen.outcome == .passed, "\(seen.message)")
        try fixture.vsctl(["set", "Interface", "tap0abc1234", "link_state=down"])
        seen = await observe(fixture) { $0.outcome == .failed }
        #expect(seen.message.contains("link state down"), "\(seen.message)")
    }

    @Test("socket unreachable: the ovs-vsctl --format=json fallback answers, and says so")
    func fallback() async throws {
        let fixture = try await OVSDBFixture()
        defer { fixture.stop() }
        try fixture.addHealthyPort("tap0abc1234", eni: "eni-0abc1234")
        let missing = fixture.folder.file("absent.sock")
        let parameters: [String: ParameterValue] = [
            "db_socket": .string(missing), "fallback": .boolean(true), "vsctl_db": .string("unix:\(fixture.socket)"),
        ]
        let seen = await probe.observe(instanceRequest("ovs.port", parameters: parameters))
        #expect(seen.outcome == .passed, "\(seen.message)")
        #expect(seen.message.contains("via ovs-vsctl"), "\(seen.message)")
        await environment.ovsdbMonitor(socketPath: missing).shutdown()

        let none = await probe.observe(
            instanceRequest("ovs.port", parameters: ["db_socket": .string(missing), "fallback": .boolean(false)]))
        #expect(none.outcome == .unknown && none.message.contains("no such socket"), "\(none.message)")
        await environment.ovsdbMonitor(socketPath: missing).shutdown()
    }

    @Test("a server sending garbage or an endless message is unknown, never a hang")
    func hostileServer() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-ovs")
        defer { folder.remove() }
        let garbage = try FakeUnixPeer(path: folder.file("garbage.sock")) { connection in
            connection.send("this is not json\n")
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { garbage.stop() }
        let endless = try FakeUnixPeer(path: folder.file("endless.sock")) { connection in
            connection.send("{\"id\": \"hive-health-monitor\", \"result\": {\"Interface\": \"")
            let block = String(repeating: "x", count: 65536)
            for _ in 0..<64 where connection.send(block) {}
            connection.waitForClose(timeout: .seconds(5))
        }
        defer { endless.stop() }
        for (path, monitor) in [
            (garbage.path, OVSDBMonitor(socketPath: garbage.path, logger: testLogger)),
            (endless.path, OVSDBMonitor(socketPath: endless.path, logger: testLogger, maxMessageBytes: 1 << 20)),
        ] {
            let clock = ContinuousClock()
            let start = clock.now
            let lookup = await monitor.interface(named: "tap0", timeout: .seconds(2))
            guard case .unavailable(let error) = lookup else {
                Issue.record("\(path): \(lookup)")
                continue
            }
            #expect(error.code == .protocolViolation || error.code == .closed, "\(error)")
            #expect(clock.now - start < .seconds(5))
            await monitor.shutdown()
        }
    }
}

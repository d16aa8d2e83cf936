import Foundation
import HealthNATS
import HealthTestKit
import Logging
import Testing

/// Issue 18: the instance checks against a real Linux guest (``LinuxGuestImage``: Debian's kernel, busybox, the
/// guest's own qemu-ga on its virtio-serial channel, a balloon, an nbdkit disk at /data), each guest fault made for
/// real through the guest's serial console shell, on a machine the test makes busy on purpose. Assertions wait for
/// the category, whichever check decides first.
@Suite("End to end: faults inside a real Linux guest", .serialized)
struct LinuxGuestFaultTests {
    typealias Fleet = InstanceLifecycleTests.Fleet

    /// Seconds of the stuck-boot grace (`console.log` `boot_grace`) in this test.
    static let bootGrace = 45

    /// The guest checks on, at the test's pace: balloon statistics every 2 s; a boot has `bootGrace` to reach login.
    static let overrides = """
          - checks: guest.resources
            enabled: true
            params: {stats_polling_interval: 2}
          - checks: console.log
            params: {boot_grace: \(bootGrace)s}

        """

    /// A bounded CPU hog (bash, at most 10 minutes, nice 10), stopped by pid: the machine made busy on purpose.
    static func startLoad() throws -> ChildProcess {
        try ChildProcess("nice", ["-n", "10", "bash", "-c", "while (( SECONDS < 600 )); do :; done"])
    }

    @Test(
        """
        a real guest: agent stopped, full disk, memory exhausted, file system read-only, kernel panic, a boot that \
        never reaches login: each impairs the instance category in time; each repair turns it ok again
        """)
    func guestFaults() async throws {
        let load = try Self.startLoad()
        defer { load.stop() }
        let spec = HiveInstanceSpec.random(volumes: 1)
        let booted = ContinuousClock.now
        // The daemon starts once the guest is up: a boot takes a while without KVM, and a booting guest is not what
        // the daemon's launch grace is for.
        let fleet = try await Fleet(instances: [spec], guest: .linux) { launcher, nats in
            let up = await launcher.waitForConsole(spec.id, LinuxGuestImage.loginMarker, timeout: .seconds(300))
            guard up else {
                throw HiveInstanceLauncher.Failure(
                    "the guest did not boot: \(launcher.consoleLog(spec.id).suffix(3000))")
            }
            print("e2e guest: booted in \(ContinuousClock.now - booted) (\(launcher.usesKVM ? "KVM" : "TCG"))")
            return try HiveHealthDaemonProcess(
                launcher: launcher, natsPort: nats.port, checks: InstanceLifecycleTests.shippedChecks, launchGrace: 5,
                extraOverrides: Self.overrides)
        }
        defer { fleet.stop() }
        let id = spec.id
        let daemon = fleet.daemon
        let launcher = fleet.launcher
        let bound = Duration.seconds(daemon.interval * daemon.consecutiveFailures + daemon.interval)
        let margin = Duration.seconds(40)

        let (okAfter, first) = await fleet.waitFor(id, timeout: .seconds(120)) { InstanceLifecycleTests.allOK($0) }
        try #require(okAfter != nil, "never ok: \(String(describing: first))\n\(daemon.logTail())")
        let graceEnd = daemon.startedAt.addingTimeInterval(Double(daemon.launchGrace) + 0.5)
        if graceEnd > Date() { try await Task.sleep(for: .seconds(graceEnd.timeIntervalSinceNow)) }

        func type(_ line: String) async throws { try await launcher.typeOnSerialConsole(id, line) }
        let startAgent =
            "qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run -f /run/qemu-ga.pid -d"
        // Fill memory to 3.5 % available, in a tmpfs the size of RAM (tmpfs pages cannot be reclaimed).
        let fillMemory = """
            mkdir -p /mnt/fill && mount -t tmpfs -o size=100% fill /mnt/fill && \
            n=$(awk '/MemAvailable/{a=$2}/MemTotal/{t=$2}END{print int((a-t*0.035)/1024)}' /proc/meminfo) && \
            dd if=/dev/zero of=/mnt/fill/f bs=1M count=$n 2>/dev/null; echo memory-filled
            """
        struct Fault {
            var name: String
            var bound: Duration
            var inject: () async throws -> Void
            var repair: () async throws -> Void
        }
        let faults = [
            Fault(
                name: "guest agent stopped", bound: bound,
                inject: { try await type("kill $(cat /run/qemu-ga.pid)") },
                repair: {
                    // A line typed on a busy TCG guest's console can be lost: type it again while the agent stays
                    // silent (a second agent on a port already held exits at once).
                    for _ in 0..<3 {
                        try await type(startAgent)
                        let (ok, _) = await fleet.waitFor(id, timeout: .seconds(60)) { InstanceLifecycleTests.allOK($0) }
                        if ok != nil { return }
                    }
                }),
            Fault(
                name: "full disk", bound: bound + .seconds(4),
                inject: { try await type("dd if=/dev/zero of=/data/fill bs=64k 2>/dev/null; sync; echo disk-filled") },
                repair: { try await type("rm -f /data/fill; sync") }),
            Fault(
                name: "memory exhausted", bound: bound + .seconds(4),
                inject: { try await type(fillMemory) },
                repair: { try await type("rm -f /mnt/fill/f; umount /mnt/fill") }),
            Fault(
                name: "file system remounted read-only", bound: bound,
                inject: { try await type("mount -o remount,abort /data") },
                repair: { try await type("umount /data; mount -t ext4 -o errors=remount-ro /dev/vda /data") }),
            Fault(
                name: "kernel panic (sysrq c)", bound: bound,
                inject: { try await type("echo c > /proc/sysrq-trigger") },
                repair: {
                    let offset = launcher.consoleLogSize(id)
                    _ = try await HumanMonitor.run(socket: launcher.paths(id).qmpSocket, "system_reset")
                    let up = await launcher.waitForConsole(
                        id, LinuxGuestImage.loginMarker, after: offset, timeout: .seconds(300))
                    if !up { throw HiveInstanceLauncher.Failure("no login after the reset") }
                }),
        ]
        var latencies: [(String, Duration, Duration)] = []
        for fault in faults {
            let mark = fleet.events.all.count
            let faultAt = ContinuousClock.now
            try await fault.inject()
            let (latency, view) = await fleet.waitFor(id, timeout: fault.bound + margin, since: faultAt) {
                $0.status["instance"] == "impaired"
            }
            let console = launcher.consoleLog(id).suffix(1500)
            try #require(
                latency != nil,
                "\(fault.name): not impaired: \(String(describing: view))\n\(daemon.logTail())\nconsole: \(console)")
            latencies.append((fault.name, latency!, fault.bound))
            // Whichever instance check decided first: one of them went to failed after the fault (on NATS, which may
            // arrive a moment after the API shows the category).
            var failedChecks: [EventLog.Event] = []
            let published = await eventually(timeout: .seconds(15), poll: .milliseconds(100)) {
                failedChecks = fleet.events.all.dropFirst(mark).filter {
                    $0.category == "instance" && $0.to == "failed"
                }
                return !failedChecks.isEmpty
            }
            #expect(published, "\(fault.name): \(fleet.events.all.dropFirst(mark))")
            print("e2e guest: \(fault.name): failed checks \(Set(failedChecks.map(\.check)).sorted())")

            try await fault.repair()
            let (repaired, after) = await fleet.waitFor(id, timeout: .seconds(300)) { view in
                InstanceLifecycleTests.allOK(view) && view.impairedSince.isEmpty
            }
            let consoleAfter = launcher.consoleLog(id).suffix(1500)
            try #require(
                repaired != nil,
                "\(fault.name) repaired: \(String(describing: after))\n\(daemon.logTail())\nconsole: \(consoleAfter)")
            let recovered = await eventually(timeout: .seconds(15)) {
                InstanceLifecycleTests.failedAndRecovered(
                    fleet.events.all.dropFirst(mark).filter { $0.category == "instance" })
            }
            #expect(recovered, "\(fault.name): \(fleet.events.all.dropFirst(mark))")
        }

        // A boot that never reaches login: a second guest told to stop before its login marker.
        var stuck = HiveInstanceSpec.random(volumes: 1)
        stuck.guestKernelArguments = [LinuxGuestImage.hangBootArgument]
        let stuckAt = ContinuousClock.now
        try await launcher.launch(stuck)
        let stuckBound = Duration.seconds(Self.bootGrace) + bound
        // The guest agent check may impair it first while it boots (no agent yet); what is waited for is the stuck
        // boot itself: console.log failed for it, and the category impaired.
        let (stuckLatency, stuckView) = await fleet.waitFor(
            stuck.id, timeout: stuckBound + .seconds(90), since: stuckAt
        ) { view in
            view.status["instance"] == "impaired"
                && fleet.events.all.contains {
                    $0.check == "console.log" && $0.target.contains(stuck.id) && $0.to == "failed"
                }
        }
        #expect(
            stuckLatency != nil,
            "stuck boot: \(String(describing: stuckView))\nconsole: \(launcher.consoleLog(stuck.id).suffix(1500))")
        if let stuckLatency { latencies.append(("boot never reaches login (from launch)", stuckLatency, stuckBound)) }
        #expect(!launcher.consoleLog(stuck.id).contains(LinuxGuestImage.loginMarker))

        // Every transition once and in order.
        let all = fleet.events.all
        #expect(Set(all.map(\.id)).count == all.count, "duplicate events: \(all)")
        var last: [String: String] = [:]
        for event in all {
            let key = event.check + "/" + event.target
            if let previous = last[key] { #expect(previous == event.from, "\(key): \(previous) then \(event)") }
            last[key] = event.to
        }
        for (name, latency, bound) in latencies {
            print("e2e guest detection: \(name): \(latency) (bound \(bound))")
        }
    }
}

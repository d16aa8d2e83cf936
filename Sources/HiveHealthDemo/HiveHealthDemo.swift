import Foundation
import HealthTestKit
import Logging

// The README's demo: a small local Hive node (nats-server, three instances with NBD volumes and OVS ports, started
// by HealthTestKit's HiveInstanceLauncher exactly as the end-to-end tests start them), `hive-health run` on it, and
// the statuses through the EC2 API. Ctrl-C (or --duration) stops everything it started, by pid.

struct DemoOptions {
    var checks = "checks.d"
    var duration: Duration?
    var interval = 2

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--checks": checks = rest.popFirst() ?? checks
            case "--duration":
                guard let value = rest.popFirst().flatMap(Int.init), value > 0 else {
                    throw HiveInstanceLauncher.Failure("--duration takes a number of seconds")
                }
                duration = .seconds(value)
            case "--interval":
                guard let value = rest.popFirst().flatMap(Int.init), value > 0 else {
                    throw HiveInstanceLauncher.Failure("--interval takes a number of seconds")
                }
                interval = value
            case "-h", "--help":
                print(
                    """
                    usage: hive-health-demo [--checks DIR] [--duration SECONDS] [--interval SECONDS]
                      Starts nats-server, three instances (QEMU, nbdkit, qemu-ga, Open vSwitch) and hive-health run,
                      prints their status every few seconds. Ctrl-C (or the end of --duration) stops everything.
                    """)
                exit(0)
            default: throw HiveInstanceLauncher.Failure("unknown argument \(argument) (--help)")
            }
        }
    }
}

/// The processes of the demo, stopped once, from the main flow or the signal handler.
final class Demo: @unchecked Sendable {
    // `@unchecked Sendable`: the references are set during start-up under `lock` and stopped once under it.
    private let lock = NSLock()
    private var nats: NATSServerProcess?
    private var launcher: HiveInstanceLauncher?
    private var daemon: HiveHealthDaemonProcess?
    private var stopped = false

    func set(
        nats: NATSServerProcess? = nil, launcher: HiveInstanceLauncher? = nil, daemon: HiveHealthDaemonProcess? = nil
    ) {
        lock.withLock {
            if let nats { self.nats = nats }
            if let launcher { self.launcher = launcher }
            if let daemon { self.daemon = daemon }
        }
    }

    func stop() {
        typealias Parts = (NATSServerProcess?, HiveInstanceLauncher?, HiveHealthDaemonProcess?)
        let (nats, launcher, daemon) = lock.withLock { () -> Parts in
            defer { stopped = true }
            return stopped ? (nil, nil, nil) : (self.nats, self.launcher, self.daemon)
        }
        daemon?.stop()
        daemon?.folder.remove()
        launcher?.stop()
        nats?.stop()
    }
}

/// Prints `text` and a newline at once (stdout may be a file or a pipe).
func line(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func run(_ options: DemoOptions, demo: Demo) async throws {
    var logger = Logger(label: "hive-health-demo")
    logger.logLevel = .warning
    line("starting nats-server ...")
    let nats = try NATSServerProcess()
    demo.set(nats: nats)
    line("starting Open vSwitch (ovsdb-server, ovs-vswitchd, bridge br-int) in a network namespace of its own ...")
    let launcher = try await HiveInstanceLauncher(node: "demo-node", natsURL: nats.url, logger: logger)
    demo.set(launcher: launcher)
    let specs = [HiveInstanceSpec.random(volumes: 1), .random(volumes: 2), .random(volumes: 1)]
    for spec in specs {
        line(
            "launching \(spec.id): QEMU (\(launcher.usesKVM ? "KVM" : "TCG")), \(spec.volumes.count) volume(s) on "
                + "nbdkit, tap \(spec.tapName) on br-int ...")
        try await launcher.launch(spec)
    }
    let daemon = try HiveHealthDaemonProcess(
        launcher: launcher, natsPort: nats.port, checks: options.checks, interval: options.interval)
    demo.set(daemon: daemon)
    let rt = launcher.runtime.path
    let nbdkit = launcher.nbdkitPid(volume: specs[1].volumes[0]).map(String.init) ?? "<nbdkit pid>"
    let first = specs[0].id
    line(
        """

        hive-health run is up (pid \(daemon.pid), log \(daemon.log)); every check runs every \(options.interval) s.
        Runtime directory (pid files, sockets, console logs): \(rt)

        See the statuses with the aws CLI (any credentials; region \(launcher.region)):
          AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=\(launcher.region) \\
            aws ec2 describe-instance-status --endpoint-url \(daemon.endpoint) --include-all-instances

        Break an instance and watch it turn impaired (then repair it: the demo does not restart what you kill):
          kill -9 $(cat \(rt)/\(first).pid)
              QEMU of \(first) dies: instance status impaired within about a second
          kill -9 \(nbdkit)
              the nbdkit serving \(specs[1].volumes[0]) of \(specs[1].id) dies: attached EBS impaired
          ip -n \(launcher.namespace) link set \(specs[2].tapName) down
              the tap of \(specs[2].id) goes down: instance reachability failed (`... up` repairs it)
        (Failures in the first \(daemon.launchGrace) s after a launch do not count: a booting guest is not impaired.)

        Ctrl-C stops everything the demo started.

        """)
    let clock = ContinuousClock()
    let start = clock.now
    var lastTable = ""
    while !Task.isCancelled {
        if let duration = options.duration, clock.now - start >= duration { break }
        if !daemon.isRunning {
            line("hive-health run exited:\n\(daemon.logTail(2000))")
            throw HiveInstanceLauncher.Failure("the daemon exited")
        }
        if let views = await daemon.describe() {
            let table = views.values.sorted { $0.id < $1.id }.map { view in
                "  \(view.id)  system \(view.status["system"] ?? "-")  instance \(view.status["instance"] ?? "-")"
                    + "  ebs \(view.status["ebs"] ?? "-")"
            }.joined(separator: "\n")
            if table != lastTable {
                let stamp = Date.ISO8601FormatStyle().format(Date())
                line("\(stamp) DescribeInstanceStatus:\n\(table)")
                lastTable = table
            }
        }
        try? await Task.sleep(for: .seconds(1))
    }
}

@main
struct HiveHealthDemo {
    static func main() async {
        let options: DemoOptions
        do {
            options = try DemoOptions(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("hive-health-demo: \(error)\n".utf8))
            exit(2)
        }
        let demo = Demo()
        let work = Task { try await run(options, demo: demo) }
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                line("\nstopping everything the demo started ...")
                work.cancel()
            }
            source.resume()
            return source
        }
        let result = await work.result
        demo.stop()
        for source in sources { source.cancel() }
        if case .failure(let error) = result, !(error is CancellationError) {
            FileHandle.standardError.write(Data("hive-health-demo: \(error)\n".utf8))
            exit(1)
        }
        line("stopped.")
    }
}

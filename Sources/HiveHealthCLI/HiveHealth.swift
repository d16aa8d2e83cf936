import ArgumentParser
import HealthCore
import HealthDaemon
import HealthProbes
import Logging
import SiteProbes

/// `hive-health`: EC2-compatible instance status checks for MulgaOS Hive.
@main
struct HiveHealth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hive-health",
        abstract: "EC2-compatible instance status checks for MulgaOS Hive.",
        discussion: """
            Checks every running instance in three categories, as EC2 does: system (the host), instance (the guest) \
            and attached EBS. Checks are declared in checks.d/*.yaml and run by probes built into this binary.
            """,
        subcommands: [Run.self, Check.self, Status.self, Validate.self, Probes.self, Recover.self, Catalog.self],
        defaultSubcommand: nil
    )
}

/// The probes of this build: the built-in ones and the site's (`Sources/SiteProbes`), both found at build time.
func buildRegistry() throws -> ProbeRegistry {
    do {
        return try ProbeRegistry(HealthProbesRegistry.probeTypes).merging(SiteProbesRegistry.probeTypes)
    } catch {
        // Two probe types of one kind: a build defect, not the user's arguments.
        throw CommandFailure.exit("", "\(error)", code: 1)
    }
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "spinifex.toml or hive.toml; its [health] section configures hive-health.",
        discussion: "Without it: $SPINIFEX_CONFIG_PATH, else /etc/spinifex/spinifex.toml, else /etc/hive/hive.toml."))
    var configPath: String?

    @Option(
        name: .customLong("checks"),
        help: "The checks.d folder (default: [health] checks_dir, /etc/hive-health/checks.d, else the built-in one).")
    var checksDirectory: String?

    @Option(help: "Environment overlay from checks.d/environments/NAME.yaml.")
    var environment: String?

    @Option(help: "Where instances come from: file:PATH, qemu-scan or hive-kv.")
    var inventory: String?

    @Option(help: "This node's name (default: hive.toml's node, else the host name).")
    var node: String?

    @Option(name: .customLong("state-dir"), help: "Folder of the embedded state store.")
    var stateDirectory: String?

    @Option(name: .customLong("host-root"), help: ArgumentHelp("Root of /proc and /sys for host probes.", visibility: .hidden))
    var hostRoot: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    var daemonOptions: DaemonOptions {
        DaemonOptions(
            configPath: configPath, checksDirectory: checksDirectory, environment: environment, inventory: inventory,
            node: node, stateDirectory: stateDirectory, hostRoot: hostRoot)
    }

    func makeLogger() -> Logger {
        var logger = Logger(label: "hive-health") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = logLevel
        return logger
    }

    /// The setup of `command`; a hive.toml or option it cannot use ends it with status 78 and the reason.
    func resolve(command: String) throws -> DaemonSetup {
        do {
            return try DaemonSetup.resolve(daemonOptions, registry: try buildRegistry())
        } catch let error as SetupError {
            throw CommandFailure.exit(command, error.message, code: CommandFailure.configuration)
        }
    }

    /// The daemon's data as `command` reads it (its store, NATS, statuses, heartbeats): the one facade of the daemon
    /// library the commands use.
    func access(command: String) throws -> DaemonAccess {
        DaemonAccess(setup: try resolve(command: command), logger: makeLogger())
    }
}

/// `--format`, shared by the reporting commands.
struct OutputOptions: ParsableArguments {
    @Option(help: "table or json.")
    var format: OutputFormat = .table
}

/// Output format of the reporting commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

import ArgumentParser
import Foundation
import HealthDaemon

/// `hive-health run`: the daemon.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: check every instance on its interval, keep the state, until SIGTERM/SIGINT.",
        discussion: """
            With no options it runs on built-in defaults: the built-in catalogue, the qemu-scan inventory and the \
            local state file. SIGHUP reloads checks.d. Once the first plan is made it prints where its API listens, \
            the instances and checks it found, where it keeps its state and an aws command to try.

            A catalogue that does not load is run from the last good copy in the state directory \
            (catalogue.last-good/); with no such copy, run prints every error and exits with status 78 (EX_CONFIG), \
            as it does for a hive.toml it cannot use. Exit status: 0 after SIGTERM/SIGINT, 78 for a configuration \
            error, 1 for any other failure.
            """)

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let logger = options.makeLogger()
        let setup = try options.resolve(command: "run")
        guard setup.config.enabled else {
            logger.notice("[health] enabled = false in hive.toml: nothing to do")
            return
        }
        switch setup.startingCatalogue() {
        case .loads:
            break
        case .lastGood(let directory, let errors):
            for error in errors { printError("hive-health run: \(error)") }
            printError(
                "hive-health run: \(setup.catalogueSource) does not load; running the last good copy \(directory)")
        case .refused(let errors):
            for error in errors { printError("hive-health run: \(error)") }
            throw Self.fail(
                "the catalogue \(setup.catalogueSource) does not load (\(errors.count) "
                    + "error\(errors.count == 1 ? "" : "s") above) and there is no last good copy in "
                    + "\(setup.lastGoodCatalogue.directory); fix it "
                    + "(hive-health validate shows every error) and start again")
        }
        logger.info(
            "starting",
            metadata: [
                "node": "\(setup.node.name)", "catalogue": "\(setup.catalogueSource)",
                "inventory": "\(setup.inventory)", "state_dir": "\(setup.stateDirectory)",
            ])
        // Before the daemon builds its state: large blocks from mmap, returned when freed.
        HealthDaemon.configureAllocator()
        let daemon: HealthDaemon
        do {
            daemon = try await HealthDaemon(setup: setup, logger: logger) { summary in
                // Unbuffered: the block must reach a pipe or the journal at once, not at exit.
                FileHandle.standardOutput.write(Data((summary.text + "\n").utf8))
            }
        } catch let error as SetupError {
            throw Self.fail(error.message)
        }
        try await daemon.run()
        // Every service has stopped and the final state is written: leave now instead of freeing a large fleet's
        // plan, records and indexes one object at a time (a quarter of the time from SIGTERM to exit at 120,000
        // jobs). exit(3) still flushes stdio.
        Foundation.exit(0)
    }

    /// A configuration `run` cannot start with (the systemd unit does not restart on its status, 78).
    static func fail(_ message: String) -> ExitCode {
        CommandFailure.exit("run", message, code: CommandFailure.configuration)
    }
}

import ArgumentParser
import HealthDaemon

/// `hive-health run`: the daemon.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: check every instance on its interval, keep the state, until SIGTERM/SIGINT.",
        discussion: "With no options it runs on built-in defaults: the built-in catalogue, the qemu-scan inventory "
            + "and the local state file. SIGHUP reloads checks.d.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let logger = options.makeLogger()
        let setup = try options.resolve()
        guard setup.config.enabled else {
            logger.notice("[health] enabled = false in hive.toml: nothing to do")
            return
        }
        logger.info(
            "starting",
            metadata: [
                "node": "\(setup.node.name)", "catalogue": "\(setup.catalogueSource)",
                "inventory": "\(setup.inventory)", "state_dir": "\(setup.stateDirectory)",
            ])
        let daemon: HealthDaemon
        do {
            daemon = try await HealthDaemon(setup: setup, logger: logger)
        } catch let error as SetupError {
            throw ValidationError(error.message)
        }
        try await daemon.run()
    }
}

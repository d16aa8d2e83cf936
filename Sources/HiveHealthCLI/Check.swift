import ArgumentParser
import Foundation
import HealthAPI
import HealthCore
import HealthDaemon
import HealthNATS

/// `hive-health check`: one cycle now.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every check once, now, and print what it saw (thresholds do not apply).",
        discussion: "Exit status: 0 all passed, 1 something failed, 3 only insufficient data.")

    @OptionGroup var options: CommonOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let logger = options.makeLogger()
        let setup = try options.resolve(command: "check")
        let outcome: OneShotCheck.Outcome
        do {
            outcome = try await OneShotCheck(setup: setup, logger: logger).run()
        } catch let error as SetupError {
            throw CommandFailure.exit("check", error.message, code: CommandFailure.configuration)
        }
        for error in outcome.catalogueErrors { printError("checks.d: \(error)") }
        for skipped in outcome.skippedInventory { printError("inventory: skipped \(skipped)") }
        try ReportOutput.print(outcome.report, format: output.format)
        let code = outcome.report.exitCode
        if code != 0 { throw ExitCode(code) }
    }
}

/// `hive-health status`: the daemon's current view.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the daemon's current view, read from its state store.",
        discussion: "Exit status as for check: 0 all passed, 1 something failed, 3 only insufficient data.")

    @OptionGroup var options: CommonOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let access = try options.access(command: "status")
        let loaded: DaemonAccess.SavedStatus
        do {
            loaded = try await access.statuses()
        } catch let failure as DaemonAccess.Failure {
            throw CommandFailure.exit("status", failure)
        } catch let error as NATSError {
            throw CommandFailure.exit("status", "\(error)", code: CommandFailure.unavailable)
        }
        guard let state = loaded.state else {
            let question = "is `hive-health run` running for node \(access.setup.node.name)?"
            throw CommandFailure.exit(
                "status", "no saved state in \(loaded.source): \(question)", code: CommandFailure.noInput)
        }
        try ReportOutput.print(state.report, reports: loaded.reports, format: output.format)
        let code = state.report.exitCode
        if code != 0 { throw ExitCode(code) }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

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
        abstract: "Print the daemon's current view: asked of the running daemon, else read from its state store.",
        discussion: """
            The running daemon answers on its control socket (<state-dir>/hive-health.sock) within --wait; when none \
            answers (no socket, refused, silent), the state store is read. The first line (JSON: `source`) says which.
            Exit status as for check: 0 all passed, 1 something failed, 3 only insufficient data.
            """)

    @OptionGroup var options: CommonOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "How long to wait for the running daemon to answer, in seconds, before reading the store.")
    var wait: Double = 2

    func validate() throws {
        guard wait > 0, wait <= 60 else { throw ValidationError("--wait must be more than 0 and at most 60 seconds") }
    }

    func run() async throws {
        let access = try options.access(command: "status")
        let current: DaemonAccess.CurrentStatus
        do {
            current = try await access.currentStatus(wait: .milliseconds(Int64(wait * 1000)))
        } catch let failure as DaemonAccess.Failure {
            throw CommandFailure.exit("status", failure)
        } catch let error as NATSError {
            throw CommandFailure.exit("status", "\(error)", code: CommandFailure.unavailable)
        }
        guard let report = current.report else {
            var message = "is `hive-health run` running for node \(access.setup.node.name)?"
            if case .store(let location, _, let unreachable) = current.source {
                message = "no saved state in \(location): " + message
                if let unreachable { message += " (control socket: \(unreachable))" }
            }
            throw CommandFailure.exit("status", message, code: CommandFailure.noInput)
        }
        try ReportOutput.print(report, reports: current.reports, source: current.source, format: output.format)
        let code = report.exitCode
        if code != 0 { throw ExitCode(code) }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

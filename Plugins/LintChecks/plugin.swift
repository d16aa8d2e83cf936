import Foundation
import PackagePlugin

/// `swift package lint-checks [DIR] [--environment NAME]`: validates a checks.d folder against this build's probes.
@main
struct LintChecks: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        let tool = try context.tool(named: "hive-health")
        var rest = arguments
        let directory: String
        if let first = rest.first, !first.hasPrefix("-") {
            directory = first
            rest.removeFirst()
        } else {
            directory = context.package.directoryURL.appending(path: "checks.d").path
        }
        let process = Process()
        process.executableURL = tool.url
        process.arguments = ["validate", directory] + rest
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            Diagnostics.error("checks.d at \(directory) is not valid (see above)")
            throw ExitCode(process.terminationStatus)
        }
    }
}

struct ExitCode: Error, CustomStringConvertible {
    var status: Int32
    init(_ status: Int32) { self.status = status }
    var description: String { "hive-health validate exited \(status)" }
}

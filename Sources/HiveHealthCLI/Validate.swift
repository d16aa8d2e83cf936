import ArgumentParser
import Foundation
import HealthCatalogue
import HealthCore
import HealthDaemon

/// `hive-health validate [DIR]`: lint a catalogue.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a checks.d folder against this build's probes; report every error with its location.",
        discussion: "Exit status: 0 valid, 1 invalid. With --environment, print the effective value of every "
            + "setting of every check and where it came from.")

    @Argument(help: "The checks.d folder (default: as for run).")
    var directory: String?

    @OptionGroup var options: CommonOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var setup = try options.resolve(command: "validate")
        if let directory { setup.catalogueSource = .directory(directory) }
        let result = setup.loadCatalogue()
        let showEffective = options.environment != nil
        switch output.format {
        case .json:
            let output = ValidationOutput(
                valid: result.errors.isEmpty, checks: result.catalogue.checks.count,
                errors: result.errors,
                environment: result.catalogue.environment,
                effective: showEffective ? result.catalogue.effective.map(EffectiveOutput.init) : nil)
            print(try ReportOutput.json(output))
        case .table:
            for error in result.errors { print(error.description) }
            if showEffective { print(effectiveTable(result.catalogue), terminator: "") }
            let files = result.catalogue.files.count
            print(
                result.errors.isEmpty
                    ? "valid: \(result.catalogue.checks.count) checks in \(files) files (\(setup.catalogueSource))"
                    : "invalid: \(result.errors.count) errors; \(result.catalogue.checks.count) checks in good files")
        }
        if !result.errors.isEmpty { throw ExitCode(1) }
    }

    func effectiveTable(_ catalogue: Catalogue) -> String {
        var rows: [[String]] = [["CHECK", "SETTING", "VALUE", "FROM"]]
        for effective in catalogue.effective {
            for (key, value) in EffectiveOutput.settings(of: effective.check) {
                rows.append([effective.check.name, key, value, effective.provenance[key] ?? "default"])
            }
        }
        return "environment: \(catalogue.environment ?? "(none)")\n" + ReportOutput.columns(rows)
    }
}

struct ValidationOutput: Encodable {
    var valid: Bool
    var checks: Int
    var errors: [CatalogueError]
    var environment: String?
    var effective: [EffectiveOutput]?
}

/// One check's effective settings, each with where it came from.
struct EffectiveOutput: Encodable {
    struct Setting: Encodable {
        var value: String
        var from: String
    }

    var name: String
    var settings: [String: Setting]

    init(_ effective: EffectiveCheck) {
        name = effective.check.name
        var settings: [String: Setting] = [:]
        for (key, value) in Self.settings(of: effective.check) {
            settings[key] = Setting(value: value, from: effective.provenance[key] ?? "default")
        }
        self.settings = settings
    }

    static func settings(of check: CheckDefinition) -> [(String, String)] {
        var settings: [(String, String)] = [
            ("probe", check.probe), ("category", check.category.rawValue), ("target", check.target.rawValue),
            ("enabled", String(check.enabled)), ("interval", HealthDuration.format(check.interval)),
            ("timeout", HealthDuration.format(check.timeout)), ("splay", HealthDuration.format(check.splay)),
            ("jitter", HealthDuration.format(check.jitter)),
            ("thresholds.consecutive_failures", String(check.thresholds.consecutiveFailures)),
            ("thresholds.consecutive_successes", String(check.thresholds.consecutiveSuccesses)),
            ("thresholds.flap_high", String(check.thresholds.flapHigh)),
            ("thresholds.flap_low", String(check.thresholds.flapLow)),
        ]
        for (name, value) in check.params.sorted(by: { $0.key < $1.key }) {
            settings.append(("params.\(name)", value.description))
        }
        for selector in check.when {
            settings.append(
                ("when.\(selector.field)", (selector.negated ? "not " : "") + selector.patterns.joined(separator: ", ")))
        }
        return settings
    }
}

import Foundation
import HealthCore
import Yams

/// Loads checks.d: every `*.yaml`/`*.yml` file (sorted by name), validated against the probe registry, with
/// hive.toml's defaults and an environment overlay (`environments/<name>.yaml`) applied.
///
/// - Important: loading never throws. Problems come back in ``CatalogueLoadResult/errors``, each with its
///   `file:line:column`; a file with any error contributes no checks, and the good files still load.
public struct CatalogueLoader: Sendable {
    public let registry: ProbeRegistry
    public let config: HealthConfig
    /// The node the overlay's `nodes:`/`labels:`/`cluster:` selectors are matched against.
    public let scope: OverlayScope

    /// `scope` nil means the node hive.toml describes (``OverlayScope/init(config:node:)``).
    public init(registry: ProbeRegistry, config: HealthConfig, scope: OverlayScope? = nil) {
        self.registry = registry
        self.config = config
        self.scope = scope ?? OverlayScope(config: config)
    }

    /// Loads the catalogue in `directory`; `environment` nil means hive.toml's `[health] environment`.
    public func load(directory: String, environment: String?) -> CatalogueLoadResult {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            let error = CatalogueError(file: directory, line: 0, column: 0, key: "",
                                       message: "checks directory \(directory) does not exist", code: .unreadable)
            return CatalogueLoadResult(catalogue: Catalogue(), errors: [error])
        }
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let checkFiles: [Input]
        do {
            checkFiles = try Self.yamlFiles(in: base).map { name in
                let path = "\(base)/\(name)"
                return Input(name: path, source: Result { () throws(CatalogueError) in
                    try SourceText.read(path: path, displayName: path)
                })
            }
        } catch {
            return CatalogueLoadResult(catalogue: Catalogue(), errors: [error])
        }
        let environmentsDirectory = "\(base)/environments"
        let available = (try? Self.yamlFiles(in: environmentsDirectory)) ?? []
        let selected = Self.selected(environment ?? config.environment)
        var environmentInput: Input?
        if let selected, let file = available.first(where: { Self.environmentName($0) == selected }) {
            let path = "\(environmentsDirectory)/\(file)"
            environmentInput = Input(name: path, source: Result { () throws(CatalogueError) in
                try SourceText.read(path: path, displayName: path)
            })
        }
        return assemble(
            checkFiles: checkFiles, environment: selected, environmentInput: environmentInput,
            availableEnvironments: available.map(Self.environmentName), environmentsLocation: environmentsDirectory)
    }

    /// Loads a catalogue held in memory (the shared catalogue from NATS); names are used in messages.
    public func load(
        files: [(name: String, contents: [UInt8])], environmentFiles: [(name: String, contents: [UInt8])],
        environment: String?
    ) -> CatalogueLoadResult {
        let checkFiles = files.sorted { $0.name < $1.name }.map { file in
            Input(name: file.name, source: Result { () throws(CatalogueError) in
                try SourceText(file: file.name, bytes: file.contents)
            })
        }
        let selected = Self.selected(environment ?? config.environment)
        var environmentInput: Input?
        if let selected, let file = environmentFiles.first(where: { Self.environmentName($0.name) == selected }) {
            environmentInput = Input(name: file.name, source: Result { () throws(CatalogueError) in
                try SourceText(file: file.name, bytes: file.contents)
            })
        }
        return assemble(
            checkFiles: checkFiles, environment: selected, environmentInput: environmentInput,
            availableEnvironments: environmentFiles.map { Self.environmentName($0.name) }.sorted(),
            environmentsLocation: "environments")
    }

    // MARK: Assembly

    private struct Input {
        var name: String
        var source: Result<SourceText, CatalogueError>
    }

    private func assemble(
        checkFiles: [Input], environment: String?, environmentInput: Input?, availableEnvironments: [String],
        environmentsLocation: String
    ) -> CatalogueLoadResult {
        var errors: [CatalogueError] = []
        var specs: [CheckSpec] = []
        var allNames: [String] = []
        var firstDefinition: [String: SourceLocation] = [:]

        for input in checkFiles {
            var reader = NodeReader(file: input.name)
            var fileSpecs: [CheckSpec] = []
            switch input.source {
            case .failure(let error): reader.absorb(error)
            case .success(let source): fileSpecs = readChecks(source, reader: &reader)
            }
            for spec in fileSpecs {
                let name = spec.name.value
                if let first = firstDefinition[name] {
                    reader.fail(at: spec.name.location, spec.name.key,
                                "duplicate check name '\(name)', first defined at \(first)", code: .duplicate)
                } else {
                    firstDefinition[name] = spec.name.location
                    allNames.append(name)
                }
                if case .failure(let failure) = spec.resolve(config: config) {
                    for error in failure.errors { reader.absorb(error) }
                }
            }
            if reader.errors.isEmpty {
                specs += fileSpecs
            } else {
                errors += reader.errors
            }
        }

        var applied: String?
        if let environment {
            if let environmentInput {
                var reader = NodeReader(file: environmentInput.name)
                switch environmentInput.source {
                case .failure(let error): reader.absorb(error)
                case .success(let source):
                    if let overlay = EnvironmentOverlay.read(source, reader: &reader) {
                        overlay.apply(to: &specs, allNames: allNames, scope: scope, config: config, reader: &reader)
                        applied = environment
                    }
                }
                errors += reader.errors
            } else {
                let list = availableEnvironments.isEmpty ? "none" : availableEnvironments.joined(separator: ", ")
                errors.append(CatalogueError(
                    file: environmentsLocation, line: 0, column: 0, key: "environment",
                    message: "unknown environment '\(environment)'; available: \(list)", code: .unknownEnvironment))
            }
        }

        var effective: [EffectiveCheck] = []
        for spec in specs {
            switch spec.resolve(config: config) {
            case .success(let check): effective.append(check)
            case .failure(let failure): errors += failure.errors
            }
        }
        var seen: Set<CatalogueError> = []
        errors = errors.filter { seen.insert($0).inserted }
        let catalogue = Catalogue(checks: effective.map(\.check), effective: effective,
                                  files: checkFiles.map(\.name), environment: applied)
        return CatalogueLoadResult(catalogue: catalogue, errors: errors)
    }

    /// The checks of one file; errors go to `reader`.
    private func readChecks(_ source: SourceText, reader: inout NodeReader) -> [CheckSpec] {
        let root: Node?
        do {
            root = try YAMLDocument.parse(source)
        } catch {
            reader.absorb(error)
            return []
        }
        // An empty file is valid and defines no checks.
        guard let root, !NodeReader.isNull(root) else { return [] }
        guard let top = reader.mapping(root, "") else { return [] }
        var list: Node?
        for entry in top {
            if CatalogueFormat.fileKeys.contains(entry.key) {
                list = entry.value
            } else {
                reader.fail(entry.keyNode, entry.key, "unknown key; a checks.d file has 'checks'", code: .unknownKey)
            }
        }
        guard let list, !NodeReader.isNull(list), let items = reader.sequence(list, "checks") else { return [] }
        var specs: [CheckSpec] = []
        for (index, item) in items.enumerated() {
            if let spec = reader.checkSpec(item, key: "checks[\(index)]", registry: registry) { specs.append(spec) }
        }
        return specs
    }

    // MARK: Files

    /// `*.yaml` and `*.yml` regular files directly in `directory`, sorted by name.
    private static func yamlFiles(in directory: String) throws(CatalogueError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw CatalogueError(file: directory, line: 0, column: 0, key: "",
                                 message: "cannot list the directory: \(SourceText.reason(error))", code: .unreadable)
        }
        let files = names.filter { name in
            guard name.hasSuffix(".yaml") || name.hasSuffix(".yml"), !name.hasPrefix(".") else { return false }
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(directory)/\(name)", isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }.sorted()
        guard files.count <= fileLimit else {
            throw CatalogueError(file: directory, line: 0, column: 0, key: "",
                                 message: "\(files.count) YAML files, the limit is \(fileLimit)", code: .limit)
        }
        return files
    }

    /// Files one catalogue directory may hold: keeps a runaway directory from taking the daemon's memory.
    static let fileLimit = 1_000

    private static func environmentName(_ file: String) -> String {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        for suffix in [".yaml", ".yml"] where base.hasSuffix(suffix) { return String(base.dropLast(suffix.count)) }
        return base
    }

    private static func selected(_ environment: String?) -> String? {
        guard let environment, !environment.isEmpty else { return nil }
        return environment
    }
}

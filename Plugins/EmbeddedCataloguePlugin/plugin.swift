import Foundation
import PackagePlugin

/// Generates `EmbeddedCatalogue.files` from the package's `checks.d` (and `checks.d/environments`).
@main
struct EmbeddedCataloguePlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let catalogue = context.package.directoryURL.appending(path: "checks.d")
        let manager = FileManager.default
        var inputs: [URL] = []
        for folder in [catalogue, catalogue.appending(path: "environments")] {
            let names = (try? manager.contentsOfDirectory(atPath: folder.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                inputs.append(folder.appending(path: name))
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedCatalogue.swift")
        return [
            .buildCommand(
                displayName: "Embedding checks.d into \(target.name)",
                executable: try context.tool(named: "ProbeRegistryGenerator").url,
                arguments: ["--embed-catalogue", catalogue.path, output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}

import Foundation
import PackagePlugin

/// Generates `<Module>Registry.probeTypes` from the probe sources of the target it is applied to.
@main
struct ProbeRegistryPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let inputs = target.sourceFiles(withSuffix: "swift").map(\.url)
        let output = context.pluginWorkDirectoryURL.appending(path: "\(target.name)Registry.swift")
        return [
            .buildCommand(
                displayName: "Generating the probe registry of \(target.name)",
                executable: try context.tool(named: "ProbeRegistryGenerator").url,
                arguments: [target.name, output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}

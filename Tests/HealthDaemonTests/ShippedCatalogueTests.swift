import Foundation
import HealthCatalogue
import HealthCore
import HealthDaemon
import HealthProbes
import Testing

/// The catalogue the repository ships (checks.d) loads in every environment it ships, so `catalog push` takes it.
@Suite("The shipped catalogue")
struct ShippedCatalogueTests {
    static let checksDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appending(path: "checks.d").path

    @Test("checks.d loads without an overlay and with each of its environments, as catalog push requires")
    func validInEveryShippedEnvironment() throws {
        let registry = try ProbeRegistry(HealthProbesRegistry.probeTypes)
        let loader = CatalogueLoader(registry: registry, config: .defaults)
        let bundle = try CatalogueBundle.read(directory: Self.checksDirectory)
        let environments = Set(bundle.environmentNames)
        #expect(environments.isSuperset(of: ["development", "production"]), "\(environments)")
        // What `catalog push` refuses on: any error of any environment.
        let errors = bundle.validate(with: loader, origin: "checks.d")
        #expect(errors.isEmpty, "\(errors.map(\.description).joined(separator: "\n"))")
        for environment in bundle.environmentNames {
            let result = loader.load(directory: Self.checksDirectory, environment: environment)
            #expect(result.errors.isEmpty, "\(environment): \(result.errors)")
            #expect(!result.catalogue.checks.isEmpty, "\(environment) has no checks")
        }
    }
}

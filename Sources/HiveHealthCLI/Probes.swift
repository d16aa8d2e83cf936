import ArgumentParser
import Foundation
import HealthCore

/// `hive-health probes`: the registered kinds with their parameters.
struct Probes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the probe kinds of this build and their parameters.")

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let registry = try buildRegistry()
        switch output.format {
        case .json:
            print(try ReportOutput.json(registry.descriptors.map(ProbeOutput.init)))
        case .table:
            for descriptor in registry.descriptors {
                let targets = descriptor.targets.map(\.rawValue).joined(separator: "|")
                print("\(descriptor.kind)  [\(descriptor.category.rawValue), \(targets)]  \(descriptor.summary)")
                for parameter in descriptor.parameters {
                    var line = "    \(parameter.name): \(parameter.type.rawValue)"
                    if parameter.required { line += " (required)" }
                    if let value = parameter.defaultValue { line += " = \(value)" }
                    print(line + "  \(parameter.doc)")
                }
            }
        }
    }
}

/// DESIGN §7's `probes` JSON shape.
struct ProbeOutput: Encodable {
    struct Parameter: Encodable {
        var name: String
        var type: String
        var required: Bool
        var defaultValue: ParameterValue?
        var doc: String

        enum CodingKeys: String, CodingKey {
            case name, type, required, doc
            case defaultValue = "default"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(type, forKey: .type)
            try container.encode(required, forKey: .required)
            try container.encode(doc, forKey: .doc)
            switch defaultValue {
            case nil: try container.encodeNil(forKey: .defaultValue)
            case .string(let value)?: try container.encode(value, forKey: .defaultValue)
            case .integer(let value)?: try container.encode(value, forKey: .defaultValue)
            case .number(let value)?: try container.encode(value, forKey: .defaultValue)
            case .boolean(let value)?: try container.encode(value, forKey: .defaultValue)
            case .duration(let value)?: try container.encode(HealthDuration.format(value), forKey: .defaultValue)
            case .stringList(let value)?: try container.encode(value, forKey: .defaultValue)
            case .stringMap(let value)?: try container.encode(value, forKey: .defaultValue)
            }
        }
    }

    var kind: String
    var category: String
    var target: String
    var targets: [String]
    var summary: String
    var parameters: [Parameter]

    init(_ descriptor: ProbeDescriptor) {
        kind = descriptor.kind
        category = descriptor.category.rawValue
        target = descriptor.targets.first?.rawValue ?? "node"
        targets = descriptor.targets.map(\.rawValue)
        summary = descriptor.summary
        parameters = descriptor.parameters.map {
            Parameter(name: $0.name, type: $0.type.rawValue, required: $0.required, defaultValue: $0.defaultValue, doc: $0.doc)
        }
    }
}

import Foundation
import HealthCatalogue
import HealthCore

/// A node probe with no parameters and the standard timeout.
struct FakeNodeProbe: Probe {
    static let descriptor = ProbeDescriptor(
        kind: "test.node", category: .system, targets: [.node], summary: "node probe for tests")
    init(environment: ProbeEnvironment) {}
    func observe(_ request: ProbeRequest) async -> Observation { .unknown("test") }
}

/// An instance probe with a parameter of every type, on QMP's timeout.
struct FakeInstanceProbe: Probe {
    static let descriptor = ProbeDescriptor(
        kind: "test.instance", category: .instance, targets: [.instance, .volume],
        parameters: [
            ParameterSpec("socket", .string, default: .string("{{runtime_dir}}/qmp-{{instance.id}}.sock"), doc: "s"),
            ParameterSpec("pid_file", .string, required: true, doc: "pid file"),
            ParameterSpec("count", .integer, default: .integer(3), range: 1...10, doc: "count"),
            ParameterSpec("min_available_percent", .number, default: .number(5), range: 0...100, doc: "percent"),
            ParameterSpec("strict", .boolean, default: .boolean(false), doc: "strict"),
            ParameterSpec("grace", .duration, default: .duration(.seconds(1)), doc: "grace"),
            ParameterSpec("command", .stringList, doc: "argv"),
            ParameterSpec("env", .stringMap, doc: "environment"),
        ],
        timeoutClass: .qmp, summary: "instance probe for tests")
    init(environment: ProbeEnvironment) {}
    func observe(_ request: ProbeRequest) async -> Observation { .unknown("test") }
}

/// A volume probe on the EBS timeout.
struct FakeVolumeProbe: Probe {
    static let descriptor = ProbeDescriptor(
        kind: "test.volume", category: .ebs, targets: [.volume], timeoutClass: .ebs, summary: "volume probe")
    init(environment: ProbeEnvironment) {}
    func observe(_ request: ProbeRequest) async -> Observation { .unknown("test") }
}

func testRegistry() throws -> ProbeRegistry {
    try ProbeRegistry([FakeNodeProbe.self, FakeInstanceProbe.self, FakeVolumeProbe.self])
}

/// A directory of its own for one test; `remove()` it when done.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("catalogue-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = "\(path)/\(name)"
        let parent = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Loads `files` (name -> YAML) from memory with `config`.
func loadInMemory(
    _ files: [String: String], environments: [String: String] = [:], environment: String? = nil,
    config: HealthConfig = .defaults
) throws -> CatalogueLoadResult {
    let loader = CatalogueLoader(registry: try testRegistry(), config: config)
    return loader.load(
        files: files.map { (name: $0.key, contents: Array($0.value.utf8)) },
        environmentFiles: environments.map { (name: $0.key, contents: Array($0.value.utf8)) },
        environment: environment)
}

extension CatalogueLoadResult {
    /// The error whose key is `key`, if any.
    func error(key: String) -> CatalogueError? { errors.first { $0.key == key } }
}

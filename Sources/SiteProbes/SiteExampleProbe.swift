import HealthCore
import ProbeKit

/// `site.example`: the example of a site's own probe. Passes when a marker file exists on the host and, with
/// `expect`, contains that text; copy this file to start a probe of your own (docs/probe-authoring.md).
///
/// A missing file or a missing text is a failed result; a file that cannot be read (permissions, a directory) is
/// unknown, and so is one larger than `max_bytes` (never read past it).
public struct SiteExampleProbe: ParameterizedProbe {
    /// Each parameter is declared once: its default lives here and nowhere else.
    static let path: ProbeParameter<String> = .string(
        "path", default: "/etc/hive-health/site-ok", doc: "The marker file to look for (under the host root).")
    static let expect: ProbeParameter<String?> = .string(
        "expect", doc: "Text the file must contain; any content passes when unset.")
    static let maxBytes: ProbeParameter<Int> = .integer(
        "max_bytes", default: 65536, range: 1...1_048_576, doc: "Bytes of the file read at most.")

    public static let descriptor = ProbeDescriptor(
        kind: "site.example", category: .system, targets: [.node],
        parameters: [path.spec, expect.spec, maxBytes.spec],
        summary: "a site's marker file exists (and contains a text): the example site probe")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (path: String, expect: String?, limit: Int)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (path, expect, limit) = settings
        let text: String
        switch HostFile.text(environment.hostPath(path), limit: limit) {
        case .success(let contents):
            text = contents
        case .failure(let error) where error.code == .missing:
            return .failed("\(path) is missing")
        case .failure(let error) where error.code == .tooLarge:
            return .unknown("\(path) is larger than \(limit) bytes")
        case .failure(let error):
            return .unknown("cannot read \(path): \(error.code)")
        }
        guard let expect, !expect.isEmpty else {
            return .passed("\(path) exists", values: ["bytes": Double(text.utf8.count)])
        }
        return text.contains(expect)
            ? .passed("\(path) contains '\(expect)'") : .failed("\(path) does not contain '\(expect)'")
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let path = try parameters.value(Self.path)
        let expect = try parameters.value(Self.expect)
        let limit = try parameters.value(Self.maxBytes)
        return (path, expect, limit)
    }
}

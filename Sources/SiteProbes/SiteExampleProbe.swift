import Foundation
import HealthCore

/// `site.example`: the example of a site's own probe. Passes when a marker file exists on the host and, with
/// `expect`, contains that text; copy this file to start a probe of your own (docs/probe-authoring.md).
///
/// A missing file or a missing text is a failed result; a file that cannot be read (permissions, a directory) is
/// unknown. At most `max_bytes` of the file are read.
public struct SiteExampleProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "site.example", category: .system, targets: [.node],
        parameters: [
            ParameterSpec(
                "path", .string, default: .string("/etc/hive-health/site-ok"),
                doc: "The marker file to look for (under the host root)."),
            ParameterSpec("expect", .string, doc: "Text the file must contain; any content passes when unset."),
            ParameterSpec(
                "max_bytes", .integer, default: .integer(65536), range: 1...1_048_576,
                doc: "Bytes of the file read at most."),
        ],
        summary: "a site's marker file exists (and contains a text): the example site probe")

    private let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    public func observe(_ request: ProbeRequest) async -> Observation {
        let path = request.parameters.string("path") ?? "/etc/hive-health/site-ok"
        let limit = request.parameters.integer("max_bytes") ?? 65536
        let hostPath = environment.hostPath(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: hostPath, isDirectory: &isDirectory) else {
            return .failed("\(path) is missing")
        }
        guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: hostPath) else {
            return .unknown("cannot read \(path)")
        }
        defer { try? handle.close() }
        let bytes: Data
        do {
            bytes = try handle.read(upToCount: limit) ?? Data()
        } catch {
            return .unknown("cannot read \(path): \(error)")
        }
        guard let expect = request.parameters.string("expect"), !expect.isEmpty else {
            return .passed("\(path) exists", values: ["bytes": Double(bytes.count)])
        }
        return String(decoding: bytes, as: UTF8.self).contains(expect)
            ? .passed("\(path) contains '\(expect)'") : .failed("\(path) does not contain '\(expect)'")
    }
}

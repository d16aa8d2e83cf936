import Foundation
import HealthTestKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What ships for operators' own tools (contrib/): the Prometheus alerting rules, the Grafana dashboard and the
/// commented `[health]` example, each checked with the real tool and against what `hive-health run` really exports.
@Suite("contrib: alert rules, dashboard, config example", .serialized)
struct ContribTests {
    static let contrib = HiveHealthBinary.packageRoot.appending(path: "contrib")
    static var rules: URL { contrib.appending(path: "prometheus/hive-health.rules.yml") }
    static var dashboard: URL { contrib.appending(path: "grafana/hive-health.json") }

    static func promtool() throws -> String {
        // scripts/test.sh installs Debian's prometheus; a missing promtool fails the test.
        try #require(ChildProcess.which("promtool"), "promtool is not installed (Debian: prometheus)")
    }

    @Test("the alerting rules pass promtool check rules and their unit tests (promtool test rules)")
    func rulesPassPromtool() async throws {
        let promtool = try Self.promtool()
        let check = try await ChildCommand.run([promtool, "check", "rules", Self.rules.path])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 10 rules found"), "\(check.stdout)")
        let tests = Self.contrib.appending(path: "prometheus/hive-health.rules.test.yml")
        let unit = try await ChildCommand.run([promtool, "test", "rules", tests.path])
        #expect(unit.status == 0, "\(unit.stdout)\(unit.stderr)")
        #expect(unit.stdout.contains("SUCCESS"), "\(unit.stdout)")
    }

    /// Every PromQL expression of the dashboard, its template variables given a value.
    static func dashboardExpressions() throws -> [String] {
        let object = try #require(try jsonObject(String(contentsOf: dashboard, encoding: .utf8)) as? [String: Any])
        var expressions: [String] = []
        func walk(_ value: Any) {
            if let dictionary = value as? [String: Any] {
                if let expression = dictionary["expr"] as? String { expressions.append(expression) }
                dictionary.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(object)
        return expressions.map {
            $0.replacingOccurrences(of: "$job", with: ".*").replacingOccurrences(of: "$agent", with: ".*")
        }
    }

    /// Every expression of the alerting rules.
    static func ruleExpressions() throws -> [String] {
        let text = try String(contentsOf: rules, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("expr: ") ? String(trimmed.dropFirst(6)) : nil
        }
    }

    /// Names of hive-health's metrics in `expression` (Prometheus' own, like `up`, are not hive-health's).
    static func metricNames(in expression: String) -> Set<String> {
        Set(expression.matches(of: #/(status_check_failed[a-z_]*|hive_health_[a-z_]+)/#).map { String($0.output.0) })
    }

    @Test("every dashboard query parses (promtool) and every metric of the rules and the dashboard is one run exports")
    func dashboardAndRulesUseExportedMetrics() async throws {
        let promtool = try Self.promtool()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let expressions = try Self.dashboardExpressions()
        #expect(expressions.count >= 12, "\(expressions)")
        // The dashboard's queries as recording rules: promtool parses each one.
        var recording = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in expressions.enumerated() {
            let quoted = expression.replacingOccurrences(of: "'", with: "''")
            recording += "      - record: dashboard:query_\(index)\n        expr: '\(quoted)'\n"
        }
        let recordingFile = folder.url.appending(path: "dashboard.rules.yml")
        try Data(recording.utf8).write(to: recordingFile)
        let parsed = try await ChildCommand.run([promtool, "check", "rules", recordingFile.path])
        #expect(parsed.status == 0, "\(parsed.stdout)\(parsed.stderr)")

        // A real daemon with one instance: what its /metrics has.
        let node = try SmallNode(in: folder, node: "node-contrib", instances: ["i-0c1"], everyCategory: true)
        let port = node.port
        let log = folder.url.appending(path: "run.log")
        let process = try HiveHealthBinary.start(node.runArguments, log: log)
        defer { HiveHealthBinary.stopBlocking(process) }
        let used = try (Self.dashboardExpressions() + Self.ruleExpressions()).reduce(into: Set<String>()) {
            $0.formUnion(Self.metricNames(in: $1))
        }
        #expect(used.count >= 9, "\(used)")
        // Series appear as results come in (a status check metric once its category has a verdict): wait until
        // every one the rules and the dashboard use is there, or report those that never came.
        var exported = ""
        var exportedNames: Set<String> = []
        let scraped = await eventually(timeout: .seconds(90), poll: .milliseconds(300)) {
            let url = URL(string: "http://127.0.0.1:\(port)/metrics")!
            guard let (data, _) = try? await URLSession.shared.data(from: url) else { return false }
            exported = String(decoding: data, as: UTF8.self)
            exportedNames = Set(
                exported.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
                    line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
                })
            return used.isSubset(of: exportedNames)
        }
        let missing = used.subtracting(exportedNames).sorted()
        let daemonLog = FirstRunCommandTests.output(log).suffix(3000)
        #expect(scraped, "in contrib/ but not exported: \(missing)\nmetrics:\n\(exported)\nlog:\n\(daemonLog)")
    }

    @Test("the commented [health] example is accepted by validate as shipped and with every key uncommented")
    func configExampleIsValid() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let example = Self.contrib.appending(path: "health.toml.example")
        let checks = HiveHealthBinary.packageRoot.appending(path: "checks.d").path
        let shipped = try await HiveHealthBinary.run(["validate", checks, "--config", example.path])
        #expect(shipped.status == 0, "\(shipped.stdout)\(shipped.stderr)")

        // Uncomment `# key = value` and `# [health.x]` lines: every key the example shows is a real one.
        let text = try String(contentsOf: example, encoding: .utf8)
        let keyLine = try Regex(#"^# (\[health[a-z._]*\](?:\s+#.*)?|[a-z_]+ = .*)$"#)
        var uncommented = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let match = line.wholeMatch(of: keyLine) else { return String(line) }
            uncommented += 1
            return String(line[match.output[1].range!])
        }
        #expect(uncommented >= 20, "only \(uncommented) keys")
        let full = folder.url.appending(path: "full.toml")
        try Data(lines.joined(separator: "\n").utf8).write(to: full)
        let all = try await HiveHealthBinary.run(["validate", checks, "--config", full.path])
        #expect(all.status == 0, "\(all.stdout)\(all.stderr)\n\(lines.joined(separator: "\n"))")
    }
}

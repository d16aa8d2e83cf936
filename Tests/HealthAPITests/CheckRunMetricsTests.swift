import HealthAPI
import Testing

@Suite("Check run metrics")
struct CheckRunMetricsTests {
    @Test("a turn's runs recorded as a batch count as the same runs recorded one by one, per probe kind")
    func batchMatchesSingles() throws {
        let runs: [(probe: String, duration: Double)] = [
            ("qmp.status", 0.002), ("qmp.status", 0.004), ("net.icmp", 0.02), ("qmp.status", 0.3), ("noop", 0),
            ("noop", 0),
        ]
        let single = HealthMetrics()
        for run in runs { single.recordCheck(probe: run.probe, duration: run.duration) }
        let batched = HealthMetrics()
        batched.recordChecks(runs)
        batched.recordChecks([(probe: String, duration: Double)]())
        let lines = { (text: String) in
            text.split(separator: "\n").filter { $0.hasPrefix("hive_health_check_") }.map(String.init).sorted()
        }
        let text = batched.render()
        #expect(lines(text) == lines(single.render()))
        #expect(text.contains("hive_health_check_runs_total{probe=\"qmp.status\"} 3"), "\(text)")
        #expect(text.contains("hive_health_check_runs_total{probe=\"net.icmp\"} 1"))
        #expect(text.contains("hive_health_check_runs_total{probe=\"noop\"} 2"))
        #expect(text.contains("hive_health_check_duration_seconds_count{probe=\"qmp.status\"} 3"))
        #expect(
            text.contains("hive_health_check_duration_seconds_bucket{probe=\"qmp.status\",le=\"0.005\"} 2"), "\(text)")
        #expect(text.contains("hive_health_check_duration_seconds_bucket{probe=\"qmp.status\",le=\"0.5\"} 3"))
        #expect(text.contains("hive_health_check_duration_seconds_bucket{probe=\"qmp.status\",le=\"+Inf\"} 3"))
        #expect(text.contains("hive_health_check_duration_seconds_bucket{probe=\"noop\",le=\"0.001\"} 2"))
        #expect(text.contains("# TYPE hive_health_check_duration_seconds histogram"))
        let sumLine = "hive_health_check_duration_seconds_sum{probe=\"qmp.status\"}"
        let sum = try #require(text.split(separator: "\n").first { $0.hasPrefix(sumLine) })
        #expect(abs((Double(sum.split(separator: " ").last ?? "") ?? 0) - 0.306) < 1e-9, "\(sum)")
    }
}

@Suite("Metrics in chunks")
struct MetricsChunkTests {
    @Test("the exposition comes in chunks of about the size asked, which put together are the whole text")
    func chunksAreBoundedAndWhole() throws {
        let metrics = HealthMetrics()
        let views = Fleet.views(2000)
        metrics.update(instances: views)
        metrics.recordCheck(probe: "qmp.status", duration: 0.002)
        let chunks = Array(metrics.chunks(size: 4096))
        #expect(chunks.count > 20, "\(chunks.count) chunks")
        // A chunk ends at the first line past the size: one line (a few hundred bytes at most) over it.
        for chunk in chunks { #expect(chunk.count < 4096 + 512 && !chunk.isEmpty, "\(chunk.count)") }
        let whole = chunks.flatMap { $0 }
        #expect(whole == metrics.renderBytes())
        let text = String(decoding: whole, as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        #expect(text.contains("hive_health_check_runs_total{probe=\"qmp.status\"} 1"))
        #expect(text.contains("status_check_failed_system{instance_id=\"\(Fleet.id(1999))\"}"))
        // Every line is whole: each chunk but the last ends at a line's end.
        for chunk in chunks { #expect(chunk.last == UInt8(ascii: "\n")) }
    }
}

import Foundation
import HealthCore
import Prometheus
import Synchronization

/// The daemon's Prometheus metrics (`GET /metrics`), kept in one swift-prometheus registry (no global bootstrap, so
/// tests each have their own). Every metric is made on the registry with its HELP text (which swift-metrics' API
/// cannot carry and `promtool check metrics` requires); ``factory`` serves code that speaks swift-metrics.
///
/// Per instance, CloudWatch's status check metrics as 0/1 gauges in Prometheus' snake case (promtool rejects camel
/// case): `status_check_failed` (`StatusCheckFailed`), `status_check_failed_system`, `status_check_failed_instance`,
/// `status_check_failed_attached_ebs`.
public final class HealthMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    /// Each CloudWatch metric's Prometheus name and HELP text.
    static let instanceMetrics: [(metric: StatusCheckMetric, name: String, help: String)] = [
        (
            .statusCheckFailed, "status_check_failed",
            "CloudWatch StatusCheckFailed: 1 when any status check of the instance failed, 0 when system and "
                + "instance are ok; absent without a verdict"
        ),
        (
            .system, "status_check_failed_system",
            "CloudWatch StatusCheckFailed_System: 1 impaired, 0 ok; absent without a verdict"
        ),
        (
            .instance, "status_check_failed_instance",
            "CloudWatch StatusCheckFailed_Instance: 1 impaired, 0 ok; absent without a verdict"
        ),
        (
            .attachedEBS, "status_check_failed_attached_ebs",
            "CloudWatch StatusCheckFailed_AttachedEBS: 1 impaired, 0 ok; absent without a verdict"
        ),
    ]
    static let insufficientDataName = "hive_health_status_check_insufficient_data"
    static let insufficientDataHelp =
        "1 when the category (system, instance, ebs) of the instance has insufficient data, 0 otherwise"

    /// One instance's series, as rendered: a value per ``instanceMetrics`` entry (-1 when it has no verdict, so no
    /// series) and an insufficient-data flag per category.
    fileprivate struct InstanceSeries: Sendable {
        var id: String
        var failed: (Int8, Int8, Int8, Int8)
        var insufficient: (Bool, Bool, Bool)
    }

    private struct Inner {
        /// Rendered at scrape time, not registered one gauge at a time: swift-prometheus copies a family's whole
        /// label dictionary on each registration, which made 10,000 instances cost seconds of CPU per minute.
        var instanceSeries: [InstanceSeries] = []
        var checkRuns: [String: Prometheus.Counter] = [:]
        var checkDurations: [String: Prometheus.DurationHistogram] = [:]
        var lastCheck: (probe: String, runs: Prometheus.Counter, timer: Prometheus.DurationHistogram)?
        var catalogue: (version: CatalogueVersion, gauge: Prometheus.Gauge)?
    }

    private let inner = Mutex(Inner())
    private let reports: Prometheus.Counter
    private let schedulerLag: Prometheus.Gauge
    private let droppedMessages: Prometheus.Gauge
    private let droppedEvents: Prometheus.Gauge
    private let instances: Prometheus.Gauge
    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
        .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
    ]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
        reports = registry.makeCounter(
            descriptor: Self.named("hive_health_instance_status_reports_total", "ReportInstanceStatus reports accepted")
        )
        schedulerLag = registry.makeGauge(
            descriptor: Self.named(
                "hive_health_scheduler_lag_seconds", "The largest delay of a check start behind its schedule"))
        droppedMessages = registry.makeGauge(
            descriptor: Self.named("hive_health_dropped_messages", "NATS messages dropped because the outbox was full"))
        droppedEvents = registry.makeGauge(
            descriptor: Self.named(
                "hive_health_dropped_events", "Transition events dropped because nobody drained them in time"))
        instances = registry.makeGauge(descriptor: Self.named("hive_health_instances", "Instances the API answers for"))
    }

    /// Sets the status check gauges of every instance: a metric without a verdict (insufficient data, initializing,
    /// not applicable) has no series, so it never reads as a healthy 0; `hive_health_status_check_insufficient_data`
    /// says which categories lack data. Series of instances that went away are removed.
    public func update(instances views: [InstanceStatusView]) {
        var series: [InstanceSeries] = []
        series.reserveCapacity(views.count)
        for view in views {
            let health = view.health
            func value(_ metric: StatusCheckMetric) -> Int8 { metric.value(for: health).map { $0 > 0 ? 1 : 0 } ?? -1 }
            func noData(_ category: HealthCategory) -> Bool { health[category].status == .insufficientData }
            series.append(
                InstanceSeries(
                    id: health.instanceID,
                    failed: (
                        value(Self.instanceMetrics[0].metric), value(Self.instanceMetrics[1].metric),
                        value(Self.instanceMetrics[2].metric), value(Self.instanceMetrics[3].metric)
                    ),
                    insufficient: (noData(.system), noData(.instance), noData(.ebs))))
        }
        inner.withLock { $0.instanceSeries = series }
        instances.set(Double(views.count))
    }

    /// The catalogue this agent runs, as `hive_health_catalogue_info{source,version,sha256,rejected_version} 1`
    /// (one series: the previous version's is removed), so a fleet dashboard shows which nodes lag behind a push.
    public func update(catalogue: CatalogueVersion?) {
        inner.withLock { inner in
            if let current = inner.catalogue, current.version == catalogue { return }
            if let current = inner.catalogue {
                registry.unregisterGauge(current.gauge)
                inner.catalogue = nil
            }
            guard let catalogue else { return }
            let gauge = registry.makeGauge(
                descriptor: Self.named(
                    "hive_health_catalogue_info", "The check catalogue this agent runs (always 1; see the labels)"),
                labels: [
                    ("source", catalogue.source.rawValue), ("version", catalogue.version.map(String.init) ?? ""),
                    ("sha256", catalogue.sha256),
                    ("rejected_version", catalogue.rejectedVersion.map(String.init) ?? ""),
                ])
            gauge.set(1.0)
            inner.catalogue = (catalogue, gauge)
        }
    }

    /// One check run of a probe kind and how long it took.
    public func recordCheck(probe: String, duration: Double) {
        let (runs, timer) = inner.withLock { self.instruments(probe: probe, inner: &$0) }
        runs.increment()
        timer.record(Self.duration(duration))
    }

    /// The check runs of one turn of the scheduler, in order: the metrics' lock is taken once, and a kind's counter
    /// moves once for each stretch of its runs.
    public func recordChecks<Runs: Sequence>(_ batch: Runs) where Runs.Element == (probe: String, duration: Double) {
        inner.withLock { inner in
            var current: (probe: String, runs: Prometheus.Counter, timer: Prometheus.DurationHistogram)?
            var count: Int64 = 0
            for run in batch {
                if current?.probe != run.probe {
                    if let current, count > 0 { current.runs.increment(by: count) }
                    let (runs, timer) = self.instruments(probe: run.probe, inner: &inner)
                    current = (run.probe, runs, timer)
                    count = 0
                }
                count += 1
                current?.timer.record(Self.duration(run.duration))
            }
            if let current, count > 0 { current.runs.increment(by: count) }
        }
    }

    /// A probe kind's run counter and duration histogram, made on its first run.
    private func instruments(
        probe: String, inner: inout Inner
    ) -> (Prometheus.Counter, Prometheus.DurationHistogram) {
        // The kind of the previous result, compared first: usually the same string, equal by identity.
        if let last = inner.lastCheck, last.probe == probe { return (last.runs, last.timer) }
        if let runs = inner.checkRuns[probe], let timer = inner.checkDurations[probe] {
            inner.lastCheck = (probe, runs, timer)
            return (runs, timer)
        }
        let runs = registry.makeCounter(
            descriptor: Self.named("hive_health_check_runs_total", "Check runs per probe kind"),
            labels: [("probe", probe)])
        let timer = registry.makeDurationHistogram(
            descriptor: Self.named("hive_health_check_duration_seconds", "Check durations per probe kind"),
            labels: [("probe", probe)], buckets: Self.durationBuckets)
        inner.checkRuns[probe] = runs
        inner.checkDurations[probe] = timer
        inner.lastCheck = (probe, runs, timer)
        return (runs, timer)
    }

    private static func duration(_ seconds: Double) -> Duration {
        .nanoseconds(Int64(max(0, min(seconds, 86_400)) * 1e9))
    }

    /// The scheduler's largest start lag, and the messages and events dropped so far.
    public func update(schedulerLag lag: Double, droppedMessages messages: Int, droppedEvents events: Int) {
        schedulerLag.set(lag)
        droppedMessages.set(Double(messages))
        droppedEvents.set(Double(events))
    }

    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    public func countReport() { reports.increment() }

    /// The Prometheus text exposition: the registry's metrics, then the per-instance status check families.
    public func render() -> String { String(decoding: renderBytes(), as: UTF8.self) }

    /// ``render()`` as bytes, whole (tests, one-shot use).
    public func renderBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        for chunk in chunks() { bytes.append(contentsOf: chunk) }
        return bytes
    }

    /// ``render()`` in chunks of about `size` bytes, made as they are taken: at 10,000 instances the text is
    /// megabytes, and a response sent chunk by chunk holds one chunk at a time (not the whole text, nor a copy of it
    /// in the server's buffer).
    public func chunks(size: Int = 64 * 1024) -> Chunks {
        var head: [UInt8] = []
        registry.emit(into: &head)
        return Chunks(head: head, series: inner.withLock { $0.instanceSeries }, size: size)
    }

    /// The exposition's chunks: the registry's metrics first, then each per-instance family, header and lines.
    public struct Chunks: Sequence, IteratorProtocol, Sendable {
        private var head: [UInt8]?
        private let series: [InstanceSeries]
        private let size: Int
        /// The family being written (``instanceMetrics``, then the insufficient data family) and the next instance.
        private var family = 0
        private var position = -1

        fileprivate init(head: [UInt8], series: [InstanceSeries], size: Int) {
            self.head = head
            self.series = series
            self.size = Swift.max(1024, size)
        }

        public mutating func next() -> [UInt8]? {
            var chunk = head ?? []
            head = nil
            if chunk.count < size { fill(&chunk) }
            return chunk.isEmpty ? nil : chunk
        }

        private mutating func fill(_ chunk: inout [UInt8]) {
            guard !series.isEmpty else { return }
            chunk.reserveCapacity(size + 512)
            while chunk.count < size, family <= HealthMetrics.instanceMetrics.count {
                let insufficient = family == HealthMetrics.instanceMetrics.count
                if position < 0 {
                    if insufficient {
                        HealthMetrics.appendHeader(
                            name: HealthMetrics.insufficientDataName, help: HealthMetrics.insufficientDataHelp,
                            into: &chunk)
                    } else {
                        let metric = HealthMetrics.instanceMetrics[family]
                        HealthMetrics.appendHeader(name: metric.name, help: metric.help, into: &chunk)
                    }
                    position = 0
                    continue
                }
                guard position < series.count else {
                    family += 1
                    position = -1
                    continue
                }
                let instance = series[position]
                position += 1
                if insufficient {
                    for (category, flag) in [
                        (HealthCategory.system, instance.insufficient.0), (.instance, instance.insufficient.1),
                        (.ebs, instance.insufficient.2),
                    ] {
                        HealthMetrics.appendSample(
                            name: HealthMetrics.insufficientDataName,
                            labels: [("instance_id", instance.id), ("category", category.rawValue)], value: flag,
                            into: &chunk)
                    }
                } else {
                    let value =
                        switch family {
                        case 0: instance.failed.0
                        case 1: instance.failed.1
                        case 2: instance.failed.2
                        default: instance.failed.3
                        }
                    guard value >= 0 else { continue }
                    HealthMetrics.appendSample(
                        name: HealthMetrics.instanceMetrics[family].name, labels: [("instance_id", instance.id)],
                        value: value == 1, into: &chunk)
                }
            }
        }
    }

    private static func appendHeader(name: String, help: String, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) gauge\n".utf8)
    }

    /// One sample line; label values escaped as the text format asks (backslash, double quote, line feed).
    private static func appendSample(name: String, labels: [(String, String)], value: Bool, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: name.utf8)
        buffer.append(UInt8(ascii: "{"))
        for (index, label) in labels.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(contentsOf: label.0.utf8)
            buffer.append(contentsOf: "=\"".utf8)
            for byte in label.1.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\""): buffer.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\n"): buffer.append(contentsOf: "\\n".utf8)
                default: buffer.append(byte)
                }
            }
            buffer.append(UInt8(ascii: "\""))
        }
        buffer.append(contentsOf: (value ? "} 1\n" : "} 0\n").utf8)
    }
}

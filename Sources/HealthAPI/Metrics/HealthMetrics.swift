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

    /// One instance's series: a gauge per metric while it has a verdict, and the insufficient-data gauges.
    private struct InstanceGauges {
        var failed: [StatusCheckMetric: Prometheus.Gauge] = [:]
        var insufficient: [HealthCategory: Prometheus.Gauge] = [:]
    }

    private struct Inner {
        var instanceGauges: [String: InstanceGauges] = [:]
        var checkRuns: [String: Prometheus.Counter] = [:]
        var checkDurations: [String: Prometheus.DurationHistogram] = [:]
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
        inner.withLock { inner in
            var seen = Set<String>()
            for view in views {
                let health = view.health
                seen.insert(health.instanceID)
                var gauges = inner.instanceGauges[health.instanceID] ?? InstanceGauges()
                let labels = [("instance_id", health.instanceID)]
                for (metric, name, help) in Self.instanceMetrics {
                    if let value = metric.value(for: health) {
                        let gauge =
                            gauges.failed[metric]
                            ?? registry.makeGauge(descriptor: Self.named(name, help), labels: labels)
                        gauge.set(value)
                        gauges.failed[metric] = gauge
                    } else if let gauge = gauges.failed.removeValue(forKey: metric) {
                        registry.unregisterGauge(gauge)
                    }
                }
                for category in HealthCategory.allCases {
                    let gauge =
                        gauges.insufficient[category]
                        ?? registry.makeGauge(
                            descriptor: Self.named(Self.insufficientDataName, Self.insufficientDataHelp),
                            labels: labels + [("category", category.rawValue)])
                    gauge.set(health[category].status == .insufficientData ? 1.0 : 0.0)
                    gauges.insufficient[category] = gauge
                }
                inner.instanceGauges[health.instanceID] = gauges
            }
            for (id, gauges) in inner.instanceGauges where !seen.contains(id) {
                for gauge in gauges.failed.values { registry.unregisterGauge(gauge) }
                for gauge in gauges.insufficient.values { registry.unregisterGauge(gauge) }
                inner.instanceGauges[id] = nil
            }
        }
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
        let (runs, timer) = inner.withLock { inner in
            if let runs = inner.checkRuns[probe], let timer = inner.checkDurations[probe] { return (runs, timer) }
            let runs = registry.makeCounter(
                descriptor: Self.named("hive_health_check_runs_total", "Check runs per probe kind"),
                labels: [("probe", probe)])
            let timer = registry.makeDurationHistogram(
                descriptor: Self.named("hive_health_check_duration_seconds", "Check durations per probe kind"),
                labels: [("probe", probe)], buckets: Self.durationBuckets)
            inner.checkRuns[probe] = runs
            inner.checkDurations[probe] = timer
            return (runs, timer)
        }
        runs.increment()
        timer.record(.nanoseconds(Int64(max(0, min(duration, 86_400)) * 1e9)))
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

    /// The Prometheus text exposition.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

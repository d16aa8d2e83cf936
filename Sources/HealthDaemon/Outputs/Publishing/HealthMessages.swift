import Foundation
import HealthCore

/// One message on `<prefix>.health.status`: the full status of one instance (or of the node itself).
public struct StatusMessage: Sendable, Hashable, Codable {
    /// Why it was sent.
    public enum Reason: String, Sendable, Hashable, Codable {
        /// Something in this instance's status changed.
        case change
        /// The periodic full snapshot.
        case snapshot
    }

    /// `instance` or `node`.
    public var kind: String
    public var reason: Reason
    public var node: String
    public var publishedAt: Date
    /// Set when ``kind`` is `instance`.
    public var instance: InstanceHealth?
    /// The node's own system category, when ``kind`` is `node`.
    public var nodeStatus: NodeHealth?
    /// The catalogue the agent runs, in `node` messages.
    public var catalogue: CatalogueVersion?

    public static func instance(_ health: InstanceHealth, node: String, reason: Reason, at: Date) -> StatusMessage {
        StatusMessage(kind: "instance", reason: reason, node: node, publishedAt: at, instance: health, nodeStatus: nil)
    }

    public static func node(
        _ health: NodeHealth, reason: Reason, at: Date, catalogue: CatalogueVersion? = nil
    ) -> StatusMessage {
        StatusMessage(
            kind: "node", reason: reason, node: health.name, publishedAt: at, instance: nil, nodeStatus: health,
            catalogue: catalogue)
    }

    enum CodingKeys: String, CodingKey {
        case kind, reason, node, instance, catalogue
        case publishedAt = "published_at"
        case nodeStatus = "node_status"
    }
}

/// One message on `<prefix>.health.metrics`: CloudWatch `PutMetricData`-shaped datapoints for one instance.
public struct MetricsMessage: Sendable, Hashable, Codable {
    /// A CloudWatch dimension.
    public struct Dimension: Sendable, Hashable, Codable {
        public var name: String
        public var value: String
        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case value = "Value"
        }
    }

    /// A CloudWatch datapoint.
    public struct Datum: Sendable, Hashable, Codable {
        public var metricName: String
        public var dimensions: [Dimension]
        public var timestamp: Date
        public var value: Double
        public var unit: String
        enum CodingKeys: String, CodingKey {
            case metricName = "MetricName"
            case dimensions = "Dimensions"
            case timestamp = "Timestamp"
            case value = "Value"
            case unit = "Unit"
        }
    }

    public static let namespace = "AWS/EC2"

    public var namespace: String
    public var node: String
    public var metricData: [Datum]

    enum CodingKeys: String, CodingKey {
        case namespace = "Namespace"
        case node = "Node"
        case metricData = "MetricData"
    }

    /// The datapoints of one instance: ``StatusCheckMetric/value(for:)`` of each metric; a metric with no verdict
    /// (insufficient data, initializing, not applicable) has no datapoint, as in CloudWatch.
    public static func datapoints(for instance: InstanceHealth, node: String, at: Date) -> MetricsMessage {
        let dimensions = [Dimension(name: StatusCheckMetric.dimension, value: instance.instanceID)]
        let order: [StatusCheckMetric] = [.system, .instance, .attachedEBS, .statusCheckFailed]
        let data = order.compactMap { metric -> Datum? in
            metric.value(for: instance).map {
                Datum(metricName: metric.rawValue, dimensions: dimensions, timestamp: at, value: $0, unit: "Count")
            }
        }
        return MetricsMessage(namespace: namespace, node: node, metricData: data)
    }
}

import Foundation
import HealthCore
import Logging

/// Answers CloudWatch's GetMetricStatistics, GetMetricData and ListMetrics for the status check metrics
/// (``StatusCheckMetric``) from a ``MetricHistory``, in the caller's protocol (``CloudWatchWire``); SigV4 with the
/// signing name `monitoring`. Never throws: every failure is a CloudWatch error in that protocol.
public struct CloudWatchHandler: Sendable {
    public let history: MetricHistory
    /// Nil: requests are not authenticated (loopback only, as the EC2 API).
    public let verifier: SigV4Verifier?
    let logger: Logger
    let now: @Sendable () -> Date

    /// The statistics GetMetricStatistics and GetMetricData compute.
    static let statistics = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
    /// CloudWatch's cap on the datapoints of one GetMetricStatistics answer.
    static let maxDatapoints = 1440
    static let maxQueries = 500
    static let listPage = 500
    /// The most datapoints of one GetMetricData answer (over all its queries).
    static let maxDataDatapoints = 100_800

    public init(
        history: MetricHistory, verifier: SigV4Verifier? = nil, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.history = history
        var verifier = verifier
        verifier?.service = "monitoring"
        self.verifier = verifier
        self.logger = logger
        self.now = now
    }

    public func handle(_ request: EC2QueryHandler.Request, wire: CloudWatchWire) async -> APIResponse {
        let requestID = UUID().uuidString.lowercased()
        do {
            return try answer(request, wire: wire, requestID: requestID)
        } catch {
            logger.debug("CloudWatch API: \(error)", metadata: ["request_id": "\(requestID)"])
            return wire.error(error, requestID: requestID)
        }
    }

    func answer(
        _ request: EC2QueryHandler.Request, wire: CloudWatchWire, requestID: String
    ) throws(CloudWatchError) -> APIResponse {
        if let verifier {
            do {
                try verifier.verify(request, now: now())
            } catch {
                throw CloudWatchError(error)
            }
        }
        let (operation, input) = try wire.decode(request)
        guard case .map = input else {
            throw CloudWatchError(.malformedInput, "The input of \(operation.prefix(64)) is not a structure")
        }
        let output: WireValue
        switch operation {
        case "GetMetricStatistics": output = try getMetricStatistics(input)
        case "GetMetricData": output = try getMetricData(input)
        case "ListMetrics": output = try listMetrics(input)
        default:
            throw CloudWatchError(.invalidAction, "The action \(operation.prefix(64)) is not valid for this web service.")
        }
        return wire.response(operation: operation, output: output, requestID: requestID)
    }

    // MARK: inputs

    static func string(_ input: WireValue, _ name: String, required: Bool = false) throws(CloudWatchError) -> String? {
        guard let value = input[name], value != .null else {
            if required { throw CloudWatchError(.missingParameter, "The parameter \(name) is required.") }
            return nil
        }
        guard let text = value.string, !text.isEmpty, text.utf8.count <= 1024 else {
            throw CloudWatchError(.invalidParameterValue, "The parameter \(name) must be a string of 1 to 1024 bytes.")
        }
        return text
    }

    static func date(_ input: WireValue, _ name: String) throws(CloudWatchError) -> Date {
        guard let value = input[name], value != .null else {
            throw CloudWatchError(.missingParameter, "The parameter \(name) is required.")
        }
        guard let date = value.date else {
            throw CloudWatchError(.invalidParameterValue, "The parameter \(name) is not a timestamp.")
        }
        return date
    }

    static func period(_ input: WireValue) throws(CloudWatchError) -> Int {
        guard let value = input["Period"], value != .null else {
            throw CloudWatchError(.missingParameter, "The parameter Period is required.")
        }
        guard let number = value.number, number.isFinite, number >= 60, number <= 86_400 * 455,
            number.truncatingRemainder(dividingBy: 60) == 0
        else {
            throw CloudWatchError(
                .invalidParameterValue,
                "The parameter Period must be a multiple of 60: hive-health keeps one datapoint a minute.")
        }
        return Int(number)
    }

    static func list(_ input: WireValue, _ name: String, max: Int) throws(CloudWatchError) -> [WireValue] {
        guard let value = input[name], value != .null else { return [] }
        guard let items = value.list, items.count <= max else {
            throw CloudWatchError(.invalidParameterValue, "The parameter \(name) must be a list of at most \(max).")
        }
        return items
    }

    /// The series a metric names: nil when it is not one hive-health keeps (an empty answer, as CloudWatch's).
    static func series(_ metric: WireValue) throws(CloudWatchError) -> MetricHistory.SeriesKey? {
        let namespace = try string(metric, "Namespace", required: true)
        let name = try string(metric, "MetricName", required: true)
        var dimensions: [(String, String)] = []
        for item in try list(metric, "Dimensions", max: 30) {
            guard let key = try string(item, "Name", required: true), let value = try string(item, "Value") else {
                throw CloudWatchError(.missingParameter, "A dimension needs a Name and a Value.")
            }
            dimensions.append((key, value))
        }
        guard namespace == StatusCheckMetric.namespace, let name, let metric = StatusCheckMetric(rawValue: name),
            dimensions.count == 1, dimensions[0].0 == StatusCheckMetric.dimension
        else { return nil }
        return MetricHistory.SeriesKey(instanceID: dimensions[0].1, metric: metric)
    }

    /// The window's buckets: `period`-aligned starts from the one holding `start` to the one before `end`.
    static func buckets(
        _ points: [MetricHistory.Datapoint], period: Int
    ) -> [(start: Date, values: [Double])] {
        var result: [(start: Date, values: [Double])] = []
        for point in points {
            let seconds = Int64(point.timestamp.timeIntervalSince1970)
            let offset = (seconds % Int64(period) + Int64(period)) % Int64(period)
            let bucket = Date(timeIntervalSince1970: Double(seconds - offset))
            if let last = result.last, last.start == bucket {
                result[result.count - 1].values.append(point.value)
            } else {
                result.append((bucket, [point.value]))
            }
        }
        return result
    }

    static func statistic(_ name: String, _ values: [Double]) -> Double {
        switch name {
        case "SampleCount": Double(values.count)
        case "Sum": values.reduce(0, +)
        case "Minimum": values.min() ?? 0
        case "Maximum": values.max() ?? 0
        default: values.reduce(0, +) / Double(max(values.count, 1))
        }
    }

    static func window(_ input: WireValue) throws(CloudWatchError) -> (start: Date, end: Date) {
        let start = try date(input, "StartTime")
        let end = try date(input, "EndTime")
        guard start < end else {
            throw CloudWatchError(.invalidParameterValue, "The parameter StartTime must be less than the parameter EndTime.")
        }
        return (start, end)
    }

    // MARK: operations

    func getMetricStatistics(_ input: WireValue) throws(CloudWatchError) -> WireValue {
        let key = try Self.series(input)
        let (start, end) = try Self.window(input)
        let period = try Self.period(input)
        if !(try Self.list(input, "ExtendedStatistics", max: 10)).isEmpty {
            throw CloudWatchError(.invalidParameterValue, "ExtendedStatistics are not supported by hive-health.")
        }
        var statistics: [String] = []
        for item in try Self.list(input, "Statistics", max: 5) {
            guard let name = item.string, Self.statistics.contains(name) else {
                throw CloudWatchError(
                    .invalidParameterValue,
                    "The parameter Statistics may only hold \(Self.statistics.joined(separator: ", ")).")
            }
            statistics.append(name)
        }
        guard !statistics.isEmpty else {
            throw CloudWatchError(.missingParameter, "The parameter Statistics or ExtendedStatistics is required.")
        }
        let requested = (end.timeIntervalSince(start) / Double(period)).rounded(.up)
        guard requested <= Double(Self.maxDatapoints) else {
            throw CloudWatchError(
                .invalidParameterCombination,
                "You have requested up to \(Int(requested)) datapoints, which exceeds the limit of 1,440.")
        }
        let unit = try Self.string(input, "Unit")
        var datapoints: [WireValue] = []
        if let key, unit == nil || unit == "Count" {
            let points = history.datapoints(key, from: start, to: end)
            for bucket in Self.buckets(points, period: period) {
                var entries: [(String, WireValue?)] = [("Timestamp", .timestamp(bucket.start))]
                for name in Self.statistics where statistics.contains(name) {
                    entries.append((name, .double(Self.statistic(name, bucket.values))))
                }
                entries.append(("Unit", .string("Count")))
                datapoints.append(.object(entries))
            }
        }
        let label = try Self.string(input, "MetricName") ?? ""
        return .object([("Label", .string(label)), ("Datapoints", .list(datapoints))])
    }

    func getMetricData(_ input: WireValue) throws(CloudWatchError) -> WireValue {
        let queries = try Self.list(input, "MetricDataQueries", max: Self.maxQueries)
        guard !queries.isEmpty else {
            throw CloudWatchError(.missingParameter, "The parameter MetricDataQueries is required.")
        }
        let (start, end) = try Self.window(input)
        if try Self.string(input, "NextToken") != nil {
            throw CloudWatchError(.invalidNextToken, "hive-health answers GetMetricData in one page.")
        }
        let ascending: Bool
        switch try Self.string(input, "ScanBy") {
        case nil, "TimestampDescending": ascending = false
        case "TimestampAscending": ascending = true
        default: throw CloudWatchError(.invalidParameterValue, "ScanBy must be TimestampDescending or TimestampAscending.")
        }
        var results: [WireValue] = []
        var total = 0
        var ids = Set<String>()
        for query in queries {
            guard case .map = query, let id = try Self.string(query, "Id", required: true) else {
                throw CloudWatchError(.invalidParameterValue, "Each MetricDataQuery needs an Id.")
            }
            guard let first = id.unicodeScalars.first, ("a"..."z").contains(first), ids.insert(id).inserted else {
                throw CloudWatchError(
                    .invalidParameterValue, "The Id \(id.prefix(64)) must start with a lowercase letter and be unique.")
            }
            if query["Expression"] != nil {
                throw CloudWatchError(.invalidParameterValue, "Metric math expressions are not supported by hive-health.")
            }
            guard let stat = query["MetricStat"], case .map = stat, let metric = stat["Metric"] else {
                throw CloudWatchError(.missingParameter, "The MetricDataQuery \(id.prefix(64)) needs a MetricStat.")
            }
            let key = try Self.series(metric)
            let period = try Self.period(stat)
            guard let statistic = try Self.string(stat, "Stat", required: true), Self.statistics.contains(statistic) else {
                throw CloudWatchError(
                    .invalidParameterValue, "Stat must be one of \(Self.statistics.joined(separator: ", ")).")
            }
            if query["ReturnData"]?.bool == false { continue }
            var buckets = key.map { Self.buckets(history.datapoints($0, from: start, to: end), period: period) } ?? []
            if !ascending { buckets.reverse() }
            total += buckets.count
            guard total <= Self.maxDataDatapoints else {
                throw CloudWatchError(
                    .invalidParameterCombination, "The answer would exceed \(Self.maxDataDatapoints) datapoints.")
            }
            let metricName = try Self.string(metric, "MetricName")
            let label = try Self.string(query, "Label") ?? metricName ?? id
            results.append(
                .object([
                    ("Id", .string(id)), ("Label", .string(label)),
                    ("Timestamps", .list(buckets.map { .timestamp($0.start) })),
                    ("Values", .list(buckets.map { .double(Self.statistic(statistic, $0.values)) })),
                    ("StatusCode", .string("Complete")),
                ]))
        }
        return .object([("MetricDataResults", .list(results)), ("Messages", .list([]))])
    }

    func listMetrics(_ input: WireValue) throws(CloudWatchError) -> WireValue {
        let namespace = try Self.string(input, "Namespace")
        let name = try Self.string(input, "MetricName")
        var filters: [(String, String?)] = []
        for item in try Self.list(input, "Dimensions", max: 10) {
            guard let key = try Self.string(item, "Name", required: true) else { continue }
            filters.append((key, try Self.string(item, "Value")))
        }
        var since: Date?
        switch try Self.string(input, "RecentlyActive") {
        case nil: break
        case "PT3H": since = now().addingTimeInterval(-3 * 3600)
        default: throw CloudWatchError(.invalidParameterValue, "RecentlyActive must be PT3H.")
        }
        var offset = 0
        if let token = try Self.string(input, "NextToken") {
            guard token.hasPrefix("hh1."), let value = Int(token.dropFirst(4)), value >= 0 else {
                throw CloudWatchError(.invalidNextToken, "The NextToken is not one hive-health gave.")
            }
            offset = value
        }
        var matching: [MetricHistory.SeriesKey] = []
        if namespace == nil || namespace == StatusCheckMetric.namespace {
            matching = history.keys().filter { key in
                if let name, key.metric.rawValue != name { return false }
                for (dimension, value) in filters {
                    guard dimension == StatusCheckMetric.dimension, value == nil || value == key.instanceID else {
                        return false
                    }
                }
                if let since, history.datapoints(key, from: since, to: now().addingTimeInterval(60)).isEmpty {
                    return false
                }
                return true
            }
        }
        let page = matching.dropFirst(offset).prefix(Self.listPage)
        let metrics = page.map { key -> WireValue in
            .object([
                ("Namespace", .string(StatusCheckMetric.namespace)), ("MetricName", .string(key.metric.rawValue)),
                (
                    "Dimensions",
                    .list([
                        .object([("Name", .string(StatusCheckMetric.dimension)), ("Value", .string(key.instanceID))])
                    ])
                ),
            ])
        }
        let next = offset + page.count < matching.count ? "hh1.\(offset + page.count)" : nil
        return .object([("Metrics", .list(metrics)), ("NextToken", next.map { .string($0) })])
    }
}

import Foundation
import HealthCore
import Synchronization

/// The status check metrics' history: one datapoint per instance per metric per minute, kept for ``retention``
/// (15 days), as runs of equal values (a status rarely changes, so a series is a few runs), bounded in series and
/// runs; saved to and loaded from one file in the state directory.
public final class MetricHistory: Sendable {
    /// One series: an instance's metric.
    public struct SeriesKey: Sendable, Hashable, Codable, Comparable {
        public var instanceID: String
        public var metric: StatusCheckMetric

        public init(instanceID: String, metric: StatusCheckMetric) {
            self.instanceID = instanceID
            self.metric = metric
        }

        public static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
            (lhs.instanceID, lhs.metric.rawValue) < (rhs.instanceID, rhs.metric.rawValue)
        }
    }

    /// Consecutive minutes `first...last` with one value.
    struct Run: Sendable, Hashable, Codable {
        var first: Int64
        var last: Int64
        var value: Double
    }

    /// One minute's datapoint.
    public struct Datapoint: Sendable, Hashable {
        /// The minute's start.
        public var timestamp: Date
        public var value: Double
    }

    /// What the file holds.
    struct Snapshot: Codable {
        var version = 1
        var series: [SeriesKey: [Run]]
    }

    public static let retention: TimeInterval = 15 * 86_400
    public let maxSeries: Int
    public let maxRunsPerSeries: Int
    /// The largest history file read at start.
    public static let maxFileBytes = 256 * 1024 * 1024
    private let series: Mutex<[SeriesKey: [Run]]>

    public init(maxSeries: Int = 400_000, maxRunsPerSeries: Int = 21_600) {
        self.maxSeries = maxSeries
        self.maxRunsPerSeries = maxRunsPerSeries
        series = Mutex([:])
    }

    static func minute(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 1e11 else { return 0 }
        return Int64((seconds / 60).rounded(.down))
    }

    /// Records the four metrics of each instance at `at` (a metric without a verdict records nothing).
    public func record(_ instances: [InstanceHealth], at: Date) {
        var points: [(SeriesKey, Double)] = []
        for health in instances {
            for metric in StatusCheckMetric.allCases {
                if let value = metric.value(for: health) {
                    points.append((SeriesKey(instanceID: health.instanceID, metric: metric), value))
                }
            }
        }
        record(points, at: at)
    }

    /// Records datapoints (the last value of a minute wins) and drops what is older than ``retention``.
    public func record(_ points: [(SeriesKey, Double)], at: Date) {
        let minute = Self.minute(at)
        let oldest = Self.minute(at.addingTimeInterval(-Self.retention))
        series.withLock { series in
            for (key, value) in points where value.isFinite {
                guard series[key] != nil || series.count < maxSeries else { continue }
                var runs = series[key] ?? []
                if let last = runs.last, minute <= last.last {
                    // A minute already recorded (or clock skew back): the value of that minute is replaced only
                    // when it is the run's last minute.
                    if minute == last.last, last.value != value {
                        if last.first == last.last {
                            runs[runs.count - 1].value = value
                        } else {
                            runs[runs.count - 1].last -= 1
                            runs.append(Run(first: minute, last: minute, value: value))
                        }
                    }
                } else if let last = runs.last, last.last == minute - 1, last.value == value {
                    runs[runs.count - 1].last = minute
                } else {
                    runs.append(Run(first: minute, last: minute, value: value))
                }
                if runs.count > maxRunsPerSeries { runs.removeFirst(runs.count - maxRunsPerSeries) }
                series[key] = runs
            }
            if minute % 60 == 0 || series.count >= maxSeries { Self.prune(&series, oldest: oldest) }
        }
    }

    private static func prune(_ series: inout [SeriesKey: [Run]], oldest: Int64) {
        for (key, runs) in series {
            guard let first = runs.first, first.first < oldest else { continue }
            var kept = runs.filter { $0.last >= oldest }
            if let index = kept.indices.first, kept[index].first < oldest { kept[index].first = oldest }
            series[key] = kept.isEmpty ? nil : kept
        }
    }

    /// The datapoints of a series in `[start, end)`, oldest first.
    public func datapoints(_ key: SeriesKey, from start: Date, to end: Date) -> [Datapoint] {
        let first = Self.minute(start) + (start.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0 ? 0 : 1)
        let last = Self.minute(end.addingTimeInterval(-0.001))
        guard first <= last else { return [] }
        let runs = series.withLock { $0[key] } ?? []
        var points: [Datapoint] = []
        for run in runs where run.last >= first && run.first <= last {
            for minute in max(run.first, first)...min(run.last, last) {
                points.append(Datapoint(timestamp: Date(timeIntervalSince1970: Double(minute) * 60), value: run.value))
            }
        }
        return points
    }

    /// Every series with a datapoint, sorted.
    public func keys() -> [SeriesKey] {
        series.withLock { Array($0.keys) }.sorted()
    }

    /// Writes the history to `path` (a temporary file renamed over it).
    public func save(to path: String) throws {
        let snapshot = Snapshot(series: series.withLock { $0 })
        let data = try JSONEncoder().encode(snapshot)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Loads what ``save(to:)`` wrote; a missing file is an empty history, an unreadable or oversized one an error.
    public func load(from path: String, now: Date = Date()) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= Self.maxFileBytes else {
            throw CocoaError(.fileReadTooLarge, userInfo: [NSFilePathErrorKey: path])
        }
        let snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let oldest = Self.minute(now.addingTimeInterval(-Self.retention))
        series.withLock { series in
            for (key, runs) in snapshot.series.prefix(maxSeries) {
                let valid = runs.filter { $0.first <= $0.last && $0.value.isFinite }.suffix(maxRunsPerSeries)
                if !valid.isEmpty { series[key] = Array(valid) }
            }
            Self.prune(&series, oldest: oldest)
        }
    }
}

import Foundation
import HealthAPI
import HealthCore
import HealthNATS
import Logging
import ServiceLifecycle

/// Keeps the CloudWatch history (``MetricHistory``): this node's instances every ``recordInterval``; with NATS also
/// every node's datapoints from `<prefix>.health.metrics`, so any node answers for the fleet; saved to the state
/// directory's `cloudwatch-history.json` every ``saveInterval`` and at shutdown.
struct MetricHistoryService: Service {
    let daemon: HealthDaemon
    static let recordInterval: Duration = .seconds(20)
    static let saveInterval: Duration = .seconds(300)
    static let fileName = "cloudwatch-history.json"

    var path: String { daemon.setup.stateDirectory + "/" + Self.fileName }

    func run() async throws {
        let history = daemon.metricHistory
        let state = daemon.evaluator
        let path = self.path
        let logger = daemon.logger
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await every(Self.recordInterval) { history.record(state.statusView().instances, at: Date()) }
            }
            group.addTask {
                await every(Self.saveInterval) { Self.save(history, path, logger) }
            }
            if let nats = daemon.nats {
                group.addTask { await Self.follow(nats: nats, subjects: daemon.setup.subjects, history, logger) }
            }
        }
        Self.save(history, path, logger)
    }

    static func save(_ history: MetricHistory, _ path: String, _ logger: Logger) {
        do {
            try history.save(to: path)
        } catch {
            logger.warning("CloudWatch history not saved to \(path): \(error)")
        }
    }

    /// Records every node's datapoints as they are published.
    static func follow(nats: NATSBackbone, subjects: HealthSubjects, _ history: MetricHistory, _ logger: Logger) async {
        let subscription: NATSSubscription
        do {
            subscription = try nats.connection.subscribe(subjects.metrics, bufferSize: 8192)
        } catch {
            logger.warning("CloudWatch history: cannot subscribe to \(subjects.metrics): \(error)")
            return
        }
        await cancelWhenGracefulShutdown {
            let decoder = JSONDecoder.healthMessages
            for await message in subscription {
                guard message.payload.count <= 64 * 1024,
                    let metrics = try? decoder.decode(MetricsMessage.self, from: Data(message.payload)),
                    metrics.namespace == StatusCheckMetric.namespace
                else { continue }
                for datum in metrics.metricData {
                    guard let metric = StatusCheckMetric(rawValue: datum.metricName),
                        let instance = datum.dimensions.first(where: { $0.name == StatusCheckMetric.dimension })
                    else { continue }
                    history.record(
                        [(MetricHistory.SeriesKey(instanceID: instance.value, metric: metric), datum.value)],
                        at: datum.timestamp)
                }
            }
        }
        subscription.unsubscribe()
    }
}

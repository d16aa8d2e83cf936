import Foundation
import HealthAPI
import HealthCore
import HealthDaemon
import HealthNATS
import HealthStore
import Logging

/// Where `status` reads the daemon's state: JetStream KV when NATS is configured, else the embedded file store.
enum StatusStore {
    /// The saved state and a description of where it came from; nil state when nothing is saved yet.
    /// The saved state, the ReportInstanceStatus reports (oldest first) and where they came from.
    static func load(
        setup: DaemonSetup, logger: Logger
    ) async throws -> (state: PersistedState?, reports: [InstanceStatusReport], source: String) {
        guard let configuration = setup.natsConfiguration else {
            let store = FileStateStore(directory: setup.stateDirectory, logger: logger)
            let reports = FileReportStore.load(path: setup.stateDirectory + "/" + FileReportStore.fileName)
            return (try await store.load(), reports, setup.stateDirectory)
        }
        let connection = try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
        defer { connection.close() }
        let source = "\(setup.subjects.statusBucket) on \(configuration.url)"
        let store: KeyValueStateStore
        do {
            store = try await KeyValueStateStore.open(
                connection: connection, subjects: setup.subjects, node: setup.node.name, logger: logger)
        } catch {
            throw SetupError("cannot open \(source): \(error)")
        }
        return (try await store.load(), try await reports(in: store.bucket), source)
    }

    /// The `report.<id>` entries of the status bucket (at most the newest 1000).
    static func reports(in bucket: NATSKeyValue) async throws -> [InstanceStatusReport] {
        let watch = try await bucket.watch("report.*")
        defer { watch.stop() }
        var reports: [InstanceStatusReport] = []
        for await change in watch {
            switch change {
            case .put(let entry):
                if let report = try? JSONDecoder.healthMessages.decode(
                    InstanceStatusReport.self, from: Data(entry.value))
                {
                    reports.append(report)
                }
            case .deleted: continue
            case .caughtUp:
                return Array(reports.sorted { $0.reportedAt < $1.reportedAt }.suffix(1000))
            }
        }
        return Array(reports.sorted { $0.reportedAt < $1.reportedAt }.suffix(1000))
    }
}

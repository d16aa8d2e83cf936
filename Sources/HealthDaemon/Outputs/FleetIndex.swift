import Foundation
import HealthCore
import HealthNATS
import HealthStateStore
import Logging
import Synchronization

/// The other nodes' instances, as their agents last wrote them (`instance.<id>` in the status bucket), kept in
/// memory by one long-lived KV watch: a record reaches this node's API as soon as the watch delivers it, and no
/// request reads the bucket. ``version`` moves on every change, so readers rebuild only after one.
///
/// The watch starts with every current value, then follows changes. When it ends (the connection was lost, the
/// server restarted), a new one is opened after a pause and its first full delivery replaces the index, so
/// deletions missed meanwhile do not linger.
final class FleetIndex: Sendable {
    typealias Record = KeyValueStateStore.InstanceRecord

    private struct Contents {
        var records: [String: Record] = [:]
        var version: UInt64 = 0
        /// The first full delivery has arrived: until then the index may be incomplete.
        var caughtUp = false
    }

    private let contents = Mutex(Contents())
    let node: String
    let logger: Logger
    /// The longest pause between watches.
    let maxBackoff: Duration

    init(node: String, logger: Logger, maxBackoff: Duration = .seconds(5)) {
        self.node = node
        self.logger = logger
        self.maxBackoff = maxBackoff
    }

    /// Moves on every change of the records.
    var version: UInt64 { contents.withLock { $0.version } }

    /// Every other node's record by instance id, and the version they belong to.
    var snapshot: (version: UInt64, records: [String: Record]) {
        contents.withLock { ($0.version, $0.records) }
    }

    /// Follows the bucket until the task is cancelled: a watch, and another after a pause whenever one ends.
    func run(bucket: NATSKeyValue) async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                let watch = try await bucket.watch("instance.*", bufferSize: 1 << 16)
                try await withTaskCancellationHandler {
                    try await follow(watch)
                } onCancel: {
                    watch.stop()
                }
                backoff = .milliseconds(100)
            } catch {
                logger.warning("fleet index: the watch of the status bucket ended: \(error); watching again")
            }
            guard (try? await Task.sleep(for: backoff)) != nil else { return }
            backoff = min(backoff * 2, maxBackoff)
        }
    }

    /// Applies one watch: the initial values into a fresh map that replaces the index at ``KeyValueChange/caughtUp``,
    /// then each change as it comes.
    private func follow(_ watch: KeyValueWatch) async throws {
        let decoder = JSONDecoder.healthMessages
        var initial: [String: Record]? = [:]
        for await change in watch {
            try Task.checkCancellation()
            switch change {
            case .put(let entry):
                guard let id = Self.instanceID(entry.key) else { continue }
                let record: Record
                do {
                    record = try decoder.decode(Record.self, from: Data(entry.value))
                } catch {
                    logger.debug("fleet index: \(entry.key) is not an instance record: \(error)")
                    continue
                }
                // This node's own instances come from its evaluator, fresher than what it last wrote.
                let other = record.node != node && record.status.instanceID == id
                if initial != nil {
                    initial?[id] = other ? record : nil
                } else {
                    contents.withLock { contents in
                        contents.records[id] = other ? record : nil
                        contents.version &+= 1
                    }
                }
            case .deleted(let key, _):
                guard let id = Self.instanceID(key) else { continue }
                if initial != nil {
                    initial?[id] = nil
                } else {
                    contents.withLock { contents in
                        if contents.records.removeValue(forKey: id) != nil { contents.version &+= 1 }
                    }
                }
            case .caughtUp:
                guard let complete = initial else { continue }
                initial = nil
                contents.withLock { contents in
                    contents.records = complete
                    contents.version &+= 1
                    contents.caughtUp = true
                }
                logger.debug("fleet index: caught up", metadata: ["instances": "\(complete.count)"])
            }
        }
    }

    /// `instance.i-0123` -> `i-0123`.
    static func instanceID(_ key: String) -> String? {
        guard key.hasPrefix("instance.") else { return nil }
        let id = key.dropFirst("instance.".count)
        return id.isEmpty ? nil : String(id)
    }
}

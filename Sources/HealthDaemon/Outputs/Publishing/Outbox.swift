import HealthNATS
import Logging
import Synchronization

/// A message waiting to go out on NATS.
public struct OutgoingMessage: Sendable, Hashable {
    /// How the message is delivered.
    public enum Delivery: Sendable, Hashable {
        /// Plain publish.
        case core
        /// JetStream publish, acknowledged by the server; `messageID` becomes `Nats-Msg-Id`, so a retry after a lost
        /// acknowledgement is stored once.
        case jetStream(messageID: String)
    }

    public var subject: String
    public var payload: [UInt8]
    public var delivery: Delivery

    public init(subject: String, payload: [UInt8], delivery: Delivery = .core) {
        self.subject = subject
        self.payload = payload
        self.delivery = delivery
    }
}

/// The messages hive-health has to send, in order, kept while NATS is unreachable.
///
/// Bounded: past ``limit`` the oldest message is dropped and counted in ``dropped``. One sender (``run(connection:)``)
/// sends the head, removes it only once the server took it (JetStream: acknowledged), and retries with backoff
/// otherwise; so checks go on during an outage and everything still queued goes out on reconnect.
public final class Outbox: Sendable {
    private struct Entry {
        var sequence: UInt64
        var message: OutgoingMessage
    }

    private struct Inner {
        var entries: [Entry] = []
        var head = 0
        var nextSequence: UInt64 = 0
        var dropped = 0
        var sent = 0
        var count: Int { entries.count - head }
    }

    public let limit: Int
    private let inner = Mutex(Inner())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let logger: Logger

    public init(limit: Int = 10_000, logger: Logger) {
        self.limit = max(1, limit)
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `message`; drops the oldest when full.
    public func enqueue(_ message: OutgoingMessage) {
        enqueue([message])
    }

    public func enqueue(_ messages: [OutgoingMessage]) {
        guard !messages.isEmpty else { return }
        inner.withLock { inner in
            for message in messages {
                inner.entries.append(Entry(sequence: inner.nextSequence, message: message))
                inner.nextSequence &+= 1
            }
            let excess = inner.count - limit
            if excess > 0 {
                inner.head += excess
                inner.dropped += excess
            }
            if inner.head > 1024, inner.head * 2 > inner.entries.count {
                inner.entries.removeFirst(inner.head)
                inner.head = 0
            }
        }
        wake.yield()
    }

    /// Messages waiting.
    public var pending: Int { inner.withLock { $0.count } }
    /// Messages dropped because the outbox was full.
    public var dropped: Int { inner.withLock { $0.dropped } }
    /// Messages the server took.
    public var sent: Int { inner.withLock { $0.sent } }

    private func head() -> Entry? {
        inner.withLock { $0.count > 0 ? $0.entries[$0.head] : nil }
    }

    private func remove(sequence: UInt64) {
        inner.withLock { inner in
            guard inner.count > 0, inner.entries[inner.head].sequence == sequence else { return }
            inner.head += 1
            inner.sent += 1
            if inner.head == inner.entries.count {
                inner.entries.removeAll(keepingCapacity: true)
                inner.head = 0
            }
        }
    }

    /// Sends until the task is cancelled: the head first, retrying it with backoff (100 ms doubling to 5 s).
    public func run(connection: NATSConnection) async {
        var waiting = wakeups.makeAsyncIterator()
        var failures = 0
        while !Task.isCancelled {
            guard let entry = head() else {
                guard await waiting.next() != nil else { return }
                continue
            }
            do {
                try await send(entry.message, connection: connection)
                remove(sequence: entry.sequence)
                if failures > 0 {
                    logger.info("NATS: sending again", metadata: ["pending": "\(pending)", "dropped": "\(dropped)"])
                }
                failures = 0
            } catch {
                if failures == 0 {
                    logger.warning(
                        "NATS: cannot send, keeping messages until it works: \(error)",
                        metadata: ["pending": "\(pending)"])
                }
                failures += 1
                let delay = Duration.milliseconds(min(5000, 100 << min(failures - 1, 6)))
                guard (try? await Task.sleep(for: delay)) != nil else { return }
            }
        }
    }

    /// Sends what is queued, for at most `deadline` (at shutdown).
    public func drain(connection: NATSConnection, deadline: Duration) async {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        while clock.now < end, let entry = head() {
            do {
                try await send(entry.message, connection: connection)
                remove(sequence: entry.sequence)
            } catch {
                return
            }
        }
        try? await connection.flush(timeout: .seconds(1))
    }

    private func send(_ message: OutgoingMessage, connection: NATSConnection) async throws(NATSError) {
        switch message.delivery {
        case .core:
            guard connection.isConnected else {
                throw NATSError(code: .notConnected, message: "publish \(message.subject): not connected")
            }
            try connection.publish(message.subject, payload: message.payload)
        case .jetStream(let messageID):
            _ = try await connection.publishJetStream(message.subject, payload: message.payload, messageID: messageID)
        }
    }
}

import Foundation
import Synchronization

/// The daemon's transitions as they happen, for the fleet page: the recent ones (its list) and a stream per open
/// `GET /events` (server-sent events), each bounded (a slow reader loses the oldest, never blocks the daemon).
public final class FleetFeed: Sendable {
    /// One change of a check or of a whole category.
    public struct Transition: Sendable, Hashable, Codable {
        public var at: Date
        public var node: String
        public var instanceID: String?
        public var category: String
        /// Nil when the whole category changed.
        public var check: String?
        public var from: String
        public var to: String
        public var message: String

        public init(
            at: Date, node: String, instanceID: String?, category: String, check: String?, from: String, to: String,
            message: String
        ) {
            self.at = at
            self.node = node
            self.instanceID = instanceID
            self.category = category
            self.check = check
            self.from = from
            self.to = to
            self.message = message
        }
    }

    private struct Inner {
        var recent: [Transition] = []
        var subscribers: [Int: AsyncStream<Transition>.Continuation] = [:]
        var nextID = 0
    }

    public let maxRecent: Int
    public let maxSubscribers: Int
    private let inner = Mutex(Inner())

    public init(maxRecent: Int = 200, maxSubscribers: Int = 64) {
        self.maxRecent = maxRecent
        self.maxSubscribers = maxSubscribers
    }

    /// Keeps the transitions among the recent ones and sends them to every open stream.
    public func publish(_ transitions: [Transition]) {
        guard !transitions.isEmpty else { return }
        let subscribers = inner.withLock { inner in
            inner.recent += transitions
            if inner.recent.count > maxRecent { inner.recent.removeFirst(inner.recent.count - maxRecent) }
            return Array(inner.subscribers.values)
        }
        for subscriber in subscribers {
            for transition in transitions { subscriber.yield(transition) }
        }
    }

    /// The recent transitions, newest last.
    public var recent: [Transition] { inner.withLock { $0.recent } }

    /// How many streams are open.
    public var subscriberCount: Int { inner.withLock { $0.subscribers.count } }

    /// A stream of the transitions from now on; nil when ``maxSubscribers`` are open. Ends when the caller stops
    /// iterating (the stream is dropped or cancelled).
    public func subscribe() -> AsyncStream<Transition>? {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Transition.self, bufferingPolicy: .bufferingNewest(256))
        let id: Int? = inner.withLock { inner in
            guard inner.subscribers.count < maxSubscribers else { return nil }
            inner.nextID += 1
            inner.subscribers[inner.nextID] = continuation
            return inner.nextID
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in
            _ = self?.inner.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }
}

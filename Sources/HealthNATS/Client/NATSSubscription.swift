import CNATS
import Synchronization

/// A subscription's messages as an `AsyncSequence`, with a bounded buffer: when the consumer falls behind by more
/// than the buffer, the oldest buffered messages are dropped and counted in ``droppedMessages``.
///
/// The sequence ends after ``unsubscribe()``, when the connection closes, or when the subscription is released.
/// Iterate it from one task.
public final class NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage
    public typealias AsyncIterator = AsyncStream<NATSMessage>.Iterator

    public let subject: String
    private let stream: AsyncStream<NATSMessage>
    private let handle: Handle
    private let sink: Sink
    /// Keeps the connection (and its C handles) alive while the subscription exists.
    private let connection: NATSConnection

    /// Where libnats' delivery thread hands messages; retained for libnats until its completion callback.
    final class Sink: Sendable {
        let continuation: AsyncStream<NATSMessage>.Continuation
        let dropped = Atomic<Int>(0)

        init(continuation: AsyncStream<NATSMessage>.Continuation) { self.continuation = continuation }

        func deliver(_ message: NATSMessage) {
            if case .dropped = continuation.yield(message) { dropped.add(1, ordering: .relaxed) }
        }
    }

    /// The `natsSubscription`. `@unchecked Sendable`: libnats subscriptions are thread-safe; the pointer is set once,
    /// unsubscribed at most once under the lock, and destroyed exactly once in `deinit`.
    final class Handle: @unchecked Sendable {
        let subscription: OpaquePointer
        private let unsubscribed = Atomic<Bool>(false)

        init(_ subscription: OpaquePointer) { self.subscription = subscription }

        func unsubscribe() {
            guard !unsubscribed.exchange(true, ordering: .acquiringAndReleasing) else { return }
            natsSubscription_Unsubscribe(subscription)
        }

        deinit {
            unsubscribe()
            natsSubscription_Destroy(subscription)
        }
    }

    init(connection: NATSConnection, subject: String, bufferSize: Int) throws(NATSError) {
        self.connection = connection
        self.subject = subject
        let (stream, continuation) = AsyncStream.makeStream(
            of: NATSMessage.self, bufferingPolicy: .bufferingNewest(Swift.max(1, bufferSize)))
        self.stream = stream
        let sink = Sink(continuation: continuation)
        self.sink = sink
        let closure = Unmanaged.passRetained(sink).toOpaque()
        var subscription: OpaquePointer?
        let status = natsConnection_Subscribe(
            &subscription, connection.handles.connection, subject,
            { _, _, message, closure in
                guard let message else { return }
                if let closure {
                    Unmanaged<Sink>.fromOpaque(closure).takeUnretainedValue().deliver(NATSMessage(copying: message))
                }
                natsMsg_Destroy(message)
            }, closure)
        guard status == NATS_OK, let subscription else {
            Unmanaged<Sink>.fromOpaque(closure).release()
            continuation.finish()
            throw NATSError.from(status, "subscribe \(subject)")
        }
        let handle = Handle(subscription)
        self.handle = handle
        // After unsubscribe (or close) and the handler's last return, libnats calls this once: end the sequence and
        // give back the sink's retain.
        let completion = natsSubscription_SetOnCompleteCB(
            subscription,
            { closure in
                guard let closure else { return }
                let sink = Unmanaged<Sink>.fromOpaque(closure).takeRetainedValue()
                sink.continuation.finish()
            }, closure)
        if completion != NATS_OK {
            handle.unsubscribe()
            throw NATSError.from(completion, "subscribe \(subject)")
        }
        _ = natsSubscription_SetPendingLimits(
            subscription, Int32(clamping: connection.configuration.pendingMessagesLimit), -1)
        let weakHandle = WeakHandle(handle)
        continuation.onTermination = { _ in weakHandle.handle?.unsubscribe() }
    }

    /// Messages dropped because the consumer fell behind (here and inside libnats).
    public var droppedMessages: Int {
        var libnats: Int64 = 0
        _ = natsSubscription_GetDropped(handle.subscription, &libnats)
        return sink.dropped.load(ordering: .relaxed) + Int(libnats)
    }

    /// Stops the subscription; the sequence ends after the messages already buffered.
    public func unsubscribe() { handle.unsubscribe() }

    public func makeAsyncIterator() -> AsyncStream<NATSMessage>.Iterator { stream.makeAsyncIterator() }

    deinit { handle.unsubscribe() }
}

/// Lets the stream's termination handler reach the handle without keeping it alive.
private final class WeakHandle: Sendable {
    weak let handle: NATSSubscription.Handle?
    init(_ handle: NATSSubscription.Handle) { self.handle = handle }
}

extension NATSConnection {
    /// Subscribes to `subject` (wildcards allowed). At most `bufferSize` messages wait for the consumer.
    public func subscribe(_ subject: String, bufferSize: Int = 1024) throws(NATSError) -> NATSSubscription {
        try NATSSubscription(connection: self, subject: subject, bufferSize: bufferSize)
    }
}

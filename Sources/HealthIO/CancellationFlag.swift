import Synchronization

/// Raised by an async caller when its task is cancelled; blocking work on ``BlockingPool`` checks it between polls.
public final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    /// Marks the work as cancelled.
    public func raise() { raised.store(true, ordering: .relaxed) }

    /// Whether ``raise()`` was called.
    public var isRaised: Bool { raised.load(ordering: .relaxed) }
}

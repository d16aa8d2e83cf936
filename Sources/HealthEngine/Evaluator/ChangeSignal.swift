import Synchronization

/// A count of changes that tasks wait on instead of polling: ``signal()`` bumps it and wakes every waiter;
/// ``wait(past:)`` returns once the count moved past what the caller last saw.
///
/// The evaluator signals the changes its writers act on (a status, a streak, a plan, the catalogue), so the journal
/// and the KV records are written as a transition happens and nothing wakes while nothing changes.
public final class ChangeSignal: Sendable {
    private struct State {
        var count: UInt64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Changes signalled so far.
    public var count: UInt64 { state.withLock { $0.count } }

    public func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count &+= 1
            guard !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once ``count`` differs from `seen` (at once when it already does), or when the task is cancelled.
    public func wait(past seen: UInt64) async {
        let id = state.withLock { state -> Int in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    // Cancelled before registering: the handler below found nothing to resume.
                    if state.count != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

import HealthEngine
import HealthTestKit
import Synchronization
import Testing

@Suite("ChangeSignal")
struct ChangeSignalTests {
    @Test("a waiter returns at once when the count already moved, and on the next signal otherwise")
    func wakesOnSignal() async throws {
        let signal = ChangeSignal()
        await signal.wait(past: 99)  // already past: returns at once
        let seen = signal.count
        let woke = Counter()
        let waiters = (0..<3).map { _ in
            Task {
                await signal.wait(past: seen)
                woke.add()
            }
        }
        // Give the waiters time to register: none may return before the signal.
        try await Task.sleep(for: .milliseconds(100))
        #expect(woke.value == 0)
        signal.signal()
        for waiter in waiters { await waiter.value }
        #expect(woke.value == 3)
        #expect(signal.count == seen + 1)
    }

    @Test("cancelling a waiter ends its wait without a signal")
    func cancellation() async throws {
        let signal = ChangeSignal()
        let waiter = Task { await signal.wait(past: signal.count) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await waiter.value
        // Cancelled before it waited: returns too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await signal.wait(past: signal.count)
        }
        await early.value
        #expect(signal.count == 0)
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

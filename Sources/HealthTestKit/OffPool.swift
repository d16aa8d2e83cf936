import Foundation

/// Runs blocking work (waiting for a child process, a blocking read) on a thread of its own and awaits it, so the
/// cooperative pool (as many threads as cores: two on the CI machine) stays free for the other tests' timers and I/O.
public func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

/// ``offCooperativePool(_:)`` for work that cannot throw.
public func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}

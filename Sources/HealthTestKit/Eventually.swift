import Foundation

/// Waits until `condition` holds, polling every few milliseconds, for at most `timeout` of real time.
///
/// Returns whether the condition held. Tests use it instead of fixed sleeps.
public func eventually(
    timeout: Duration = .seconds(10), poll: Duration = .milliseconds(5), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: poll)
    }
    return try await condition()
}

/// Runs `body`; if it is still running after `timeout`, calls `onExpiry` once (which should make `body` end, e.g. by
/// ending the sequence it iterates). Bounds loops over sequences that might never deliver.
public func withDeadline<T>(
    _ timeout: Duration, onExpiry: @escaping @Sendable () -> Void, _ body: () async throws -> T
) async rethrows -> T {
    let timer = Task {
        if (try? await Task.sleep(for: timeout)) != nil { onExpiry() }
    }
    defer { timer.cancel() }
    return try await body()
}

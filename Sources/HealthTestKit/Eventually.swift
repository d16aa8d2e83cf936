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

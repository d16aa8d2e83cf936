import Dispatch
import HealthCore
import Synchronization

/// A probe for tests whose answers are set by the test: a fixed outcome, per-target answers, a delay, or a hang
/// that ignores cancellation. It counts its runs and how many run at once.
public final class ScriptedProbe: Probe, Sendable {
    public static let descriptor = ProbeDescriptor(
        kind: "test.scripted", category: .instance, targets: [.instance, .node, .volume],
        parameters: [ParameterSpec("label", .string, default: .string("{{instance.id}}"), doc: "echoed back")],
        summary: "answers what the test scripted")

    /// What the probe does on a run.
    public enum Behaviour: Sendable {
        case answer(Observation)
        /// Sleeps on the real clock, honouring cancellation, then answers.
        case delay(Duration, Observation)
        /// Never returns in time and ignores cancellation: answers only after `limit` of real time.
        case hangIgnoringCancellation(limit: Duration)
    }

    private struct State {
        var behaviour: Behaviour = .answer(.passed("ok"))
        var byTarget: [String: Behaviour] = [:]
        var runs: [String: Int] = [:]
        var running = 0
        var maxRunning = 0
        var lastParameters: [String: ProbeParameters] = [:]
    }

    private let state = Mutex(State())

    public init(environment: ProbeEnvironment) {}
    public init() {}

    /// Sets the behaviour for every target (or only `target`).
    public func set(_ behaviour: Behaviour, for target: String? = nil) {
        state.withLock {
            if let target { $0.byTarget[target] = behaviour } else { $0.behaviour = behaviour }
        }
    }

    /// Runs started so far, in all or for one target.
    public func runs(for target: String? = nil) -> Int {
        state.withLock { state in target.map { state.runs[$0] ?? 0 } ?? state.runs.values.reduce(0, +) }
    }

    /// The most runs that were in flight at the same time.
    public var maxConcurrentRuns: Int { state.withLock { $0.maxRunning } }
    public var currentRuns: Int { state.withLock { $0.running } }
    public func lastParameters(for target: String) -> ProbeParameters? { state.withLock { $0.lastParameters[target] } }

    public func observe(_ request: ProbeRequest) async -> Observation {
        let behaviour = state.withLock { state -> Behaviour in
            state.runs[request.target.id, default: 0] += 1
            state.running += 1
            state.maxRunning = max(state.maxRunning, state.running)
            state.lastParameters[request.target.id] = request.parameters
            return state.byTarget[request.target.id] ?? state.behaviour
        }
        defer { state.withLock { $0.running -= 1 } }
        switch behaviour {
        case .answer(let observation):
            return observation
        case .delay(let duration, let observation):
            do {
                try await Task.sleep(for: duration)
            } catch {
                return .unknown("cancelled")
            }
            return observation
        case .hangIgnoringCancellation(let limit):
            // A continuation resumed from a timer thread: deaf to task cancellation, without blocking a pool thread.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + limit.secondsValue) { continuation.resume() }
            }
            return .passed("finally answered")
        }
    }
}


import HealthCore
import Synchronization

/// Messages to the scheduler's driver loop from probe tasks and from the daemon, and the driver's way to sleep until
/// a message or a deadline, whichever comes first.
final class SchedulerInbox: Sendable {
    enum Message: Sendable {
        case completed(slot: Int, run: UInt64, observation: Observation, elapsed: Duration)
        case plan(Plan)
        case trigger(@Sendable (Job) -> Bool, reason: String)
    }

    private struct State {
        var messages: [Message] = []
        /// Plans and triggers among the messages: they always wake the loop.
        var urgent = 0
        var waiter: CheckedContinuation<Void, Never>?
        /// The waiter takes finished runs at its deadline: they do not wake it.
        var completionsWait = false
        var woken = false

        func isReady(completionsWait: Bool) -> Bool {
            woken || (completionsWait ? urgent > 0 : !messages.isEmpty)
        }
    }

    private let state = Mutex(State())

    func post(_ message: Message) {
        let completion = if case .completed = message { true } else { false }
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.messages.append(message)
            if !completion { state.urgent += 1 }
            if completion, state.completionsWait { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func take() -> [Message] {
        state.withLock { state in
            defer {
                state.messages.removeAll(keepingCapacity: true)
                state.urgent = 0
            }
            return state.messages
        }
    }

    func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.woken = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when a message is waiting, `deadline` has passed on `clock`, or the task is cancelled. With
    /// `completionsWait` (only with a deadline), finished runs wait for the deadline instead of waking the loop.
    func wait<C: Clock>(until deadline: C.Instant?, clock: C, completionsWait: Bool = false) async {
        let completionsWait = completionsWait && deadline != nil
        let ready = state.withLock { state -> Bool in
            defer { state.woken = false }
            return state.isReady(completionsWait: completionsWait)
        }
        if ready || Task.isCancelled { return }
        // One timer per wait, not per job: cheap at thousands of jobs a second.
        let timer: Task<Void, Never>? = deadline.map { deadline in
            Task { [weak self] in
                guard (try? await clock.sleep(until: deadline, tolerance: nil)) != nil else { return }
                self?.wake()
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isReady(completionsWait: completionsWait) {
                        state.woken = false
                        return true
                    }
                    state.waiter = continuation
                    state.completionsWait = completionsWait
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wake()
        }
        timer?.cancel()
    }
}

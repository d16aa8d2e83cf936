import Foundation
import HealthCore
import Testing

@Suite("CheckState: persistence")
struct CheckStateCodableTests {
    @Test("a state is held in 104 bytes; its dates (none, the earliest, a recent one) and counters read back as set")
    func compactStorage() {
        // One per job: 120,000 on a large node.
        #expect(MemoryLayout<CheckState>.stride <= 104)
        var state = CheckState()
        #expect(state.failingSince == nil && state.impairedSince == nil)
        #expect(state.lastObservedAt == nil && state.lastTransitionAt == nil)
        let recent = Date(timeIntervalSinceReferenceDate: 818_000_000.123)
        state.failingSince = .distantPast
        state.impairedSince = recent
        state.lastObservedAt = Date(timeIntervalSinceReferenceDate: 0)
        state.lastTransitionAt = recent
        #expect(state.failingSince == .distantPast)
        #expect(state.impairedSince == recent)
        #expect(state.lastObservedAt == Date(timeIntervalSinceReferenceDate: 0))
        #expect(state.lastTransitionAt == recent)
        state.failingSince = nil
        #expect(state.failingSince == nil)
        #expect(state != CheckState() && state.impairedSince == recent)
        state.consecutivePassed = 7
        state.consecutiveFailed = Int(Int32.max) + 5
        state.consecutiveUnknown = -3
        #expect(state.consecutivePassed == 7)
        #expect(state.consecutiveFailed == Int(Int32.max))
        #expect(state.consecutiveUnknown == -3)
        state.runs = Int.max
        #expect(state.runs == Int.max)
    }

    @Test("a JSON round trip keeps every counter, the history and the dates")
    func jsonRoundTrip() throws {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 2, consecutiveSuccesses: 2))
        run.record(alternating(21))
        run.record(.failed, message: "disk full")
        run.record(Observation.Outcome.failed, message: "disk still full")
        run.record(.unknown, message: "timeout")
        run.record(.passed, message: "ok again")
        let state = run.state
        #expect(state.decided == .failed)
        #expect(state.flapping)
        #expect(state.impairedSince != nil)
        #expect(state.failingSince == nil)
        #expect(state.consecutivePassed == 1)

        let data = try JSONEncoder().encode(state)
        let decoded = try JSONDecoder().decode(CheckState.self, from: data)
        #expect(decoded == state)
        #expect(decoded.decided == .failed)
        #expect(decoded.consecutivePassed == 1)
        #expect(decoded.consecutiveFailed == 0)
        #expect(decoded.consecutiveUnknown == 0)
        #expect(decoded.history == state.history)
        #expect(decoded.history.count == CheckState.historyLength)
        #expect(decoded.flapping)
        #expect(decoded.impairedSince == run.time(ofResult: 21))
        #expect(decoded.lastObservation?.message == "ok again")
        #expect(decoded.lastObservedAt == run.time(ofResult: 24))
        #expect(decoded.lastTransitionAt == state.lastTransitionAt)
        #expect(decoded.runs == 25)
    }

    @Test("a restored state goes on exactly like the original")
    func restoredStateContinues() throws {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 3))
        run.record([.passed, .failed, .failed])
        var restored = try JSONDecoder().decode(CheckState.self, from: JSONEncoder().encode(run.state))
        let at = run.now
        let observation = Observation.failed("third")
        let original = run.state.record(observation, at: at, thresholds: run.thresholds)
        let again = restored.record(observation, at: at, thresholds: run.thresholds)
        #expect(original != nil)
        #expect(again == original)
        #expect(restored == run.state)
        #expect(restored.impairedSince == run.time(ofResult: 1))
    }

    @Test("an empty state round-trips")
    func emptyRoundTrip() throws {
        let decoded = try JSONDecoder().decode(CheckState.self, from: JSONEncoder().encode(CheckState()))
        #expect(decoded == CheckState())
        #expect(decoded.status(inLaunchGrace: true) == .initializing)
    }
}

import Foundation
import HealthCore
import Testing

@Suite("CheckState: consecutive results decide the status")
struct CheckStateStreakTests {
    @Test("before any result it is initializing inside the launch grace period and insufficient-data after it")
    func statusBeforeAnyResult() {
        let state = CheckState()
        #expect(state.decided == nil)
        #expect(state.runs == 0)
        #expect(state.history.isEmpty)
        #expect(state.status(inLaunchGrace: true) == .initializing)
        #expect(state.status(inLaunchGrace: false) == .insufficientData)
    }

    @Test("the default thresholds are two failures, one success and flapping between 25 and 50 percent")
    func defaultThresholds() {
        let thresholds = Thresholds.default
        #expect(thresholds.consecutiveFailures == 2)
        #expect(thresholds.consecutiveSuccesses == 1)
        #expect(thresholds.flapHigh == 50)
        #expect(thresholds.flapLow == 25)
    }

    @Test("with the default threshold one failure alone does not fail the check and the second does")
    func defaultThresholdNeedsTwoFailures() {
        var run = EvaluatorRun()
        #expect(run.record(.failed) == nil)
        #expect(run.status == .insufficientData)
        #expect(run.state.consecutiveFailed == 1)
        let transition = run.record(.failed)
        #expect(transition?.to == .failed)
        #expect(run.status == .failed)
        #expect(run.state.decided == .failed)
        #expect(run.state.consecutiveFailed == 2)
    }

    @Test("consecutive_failures failures in a row fail the check and one fewer does not", arguments: [1, 2, 3])
    func failuresInARow(threshold: Int) {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: threshold))
        run.record(.passed)
        for _ in 0..<(threshold - 1) {
            #expect(run.record(.failed) == nil)
            #expect(run.status == .passed)
        }
        let transition = run.record(.failed)
        #expect(transition?.from == .passed)
        #expect(transition?.to == .failed)
        #expect(run.status == .failed)
        #expect(run.state.consecutiveFailed == threshold)
    }

    @Test("a pass between failures resets the failing streak", arguments: [2, 3])
    func passResetsFailingStreak(threshold: Int) {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: threshold))
        for _ in 0..<3 {
            run.record(Array(repeating: .failed, count: threshold - 1))
            run.record(.passed)
            #expect(run.state.consecutiveFailed == 0)
            #expect(run.state.failingSince == nil)
        }
        #expect(run.status == .passed)
        #expect(!run.transitions.contains { $0.to == .failed })
        run.record(Array(repeating: .failed, count: threshold))
        #expect(run.status == .failed)
    }

    @Test("consecutive_successes passes in a row turn a failed check passed", arguments: [1, 3])
    func successesInARowRecover(threshold: Int) {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveSuccesses: threshold))
        run.record([.failed, .failed])
        #expect(run.status == .failed)
        for _ in 0..<(threshold - 1) {
            #expect(run.record(.passed) == nil)
            #expect(run.status == .failed)
        }
        let transition = run.record(.passed)
        #expect(transition?.from == .failed)
        #expect(transition?.to == .passed)
        #expect(run.state.consecutivePassed == threshold)
        #expect(run.state.consecutiveFailed == 0)
    }

    @Test("consecutive_successes also applies to the first decision after start")
    func successesNeededFromStart() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveSuccesses: 3))
        run.record([.passed, .passed])
        #expect(run.state.decided == nil)
        #expect(run.status == .insufficientData)
        run.record(.passed)
        #expect(run.status == .passed)
    }

    @Test("a failure between passes resets the success streak")
    func failureResetsSuccessStreak() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveSuccesses: 3))
        run.record([.failed, .failed, .passed, .passed, .failed, .passed, .passed])
        #expect(run.status == .failed)
        #expect(run.state.consecutivePassed == 2)
        run.record(.passed)
        #expect(run.status == .passed)
    }

    @Test("thresholds below one behave as one")
    func zeroThresholdsActAsOne() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 0, consecutiveSuccesses: 0))
        run.record(.failed)
        #expect(run.status == .failed)
        run.record(.passed)
        #expect(run.status == .passed)
        run.record(.unknown)
        #expect(run.status == .insufficientData)
    }

    @Test("every result counts in runs and the history keeps only the last 21")
    func runsAndHistoryLength() {
        var run = EvaluatorRun()
        run.record(Array(repeating: .passed, count: 25) + [.failed])
        #expect(run.state.runs == 26)
        #expect(run.state.history.count == CheckState.historyLength)
        #expect(run.state.history.last == .failed)
        #expect(run.state.history.dropLast().allSatisfy { $0 == .passed })
        #expect(run.state.lastObservation?.outcome == .failed)
        #expect(run.state.lastObservedAt == run.time(ofResult: 25))
    }
}

@Suite("CheckState: unknown results")
struct CheckStateUnknownTests {
    @Test("as many unknowns in a row as consecutive_failures make it insufficient-data", arguments: [1, 2, 3])
    func unknownsInARow(threshold: Int) {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: threshold))
        run.record(.passed)
        for _ in 0..<(threshold - 1) {
            #expect(run.record(.unknown) == nil)
            #expect(run.status == .passed)
        }
        let transition = run.record(.unknown)
        #expect(transition?.from == .passed)
        #expect(transition?.to == .insufficientData)
        #expect(run.state.decided == .insufficientData)
        #expect(run.state.consecutiveUnknown == threshold)
    }

    @Test("an unknown never counts as a failure")
    func unknownIsNeverAFailure() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 1))
        run.record(Array(repeating: .unknown, count: 30))
        #expect(run.state.consecutiveFailed == 0)
        #expect(run.state.failingSince == nil)
        #expect(run.status == .insufficientData)
        #expect(!run.transitions.contains { $0.to == .failed })
    }

    @Test("an unknown between two failures does not break the failing streak")
    func unknownBetweenFailuresKeepsStreak() {
        var run = EvaluatorRun()
        run.record([.failed, .unknown, .failed])
        #expect(run.status == .failed)
        #expect(run.state.consecutiveFailed == 2)
        #expect(run.state.impairedSince == run.time(ofResult: 0))
    }

    @Test("a failed check stays failed through failed, unknown, failed")
    func failedUnknownFailedStaysFailed() {
        var run = EvaluatorRun()
        run.record([.failed, .failed])
        let before = run.transitions.count
        for outcome: Observation.Outcome in [.failed, .unknown, .failed] {
            #expect(run.record(outcome) == nil)
            #expect(run.status == .failed)
        }
        #expect(run.transitions.count == before)
    }

    @Test("a pass clears the unknown streak")
    func passClearsUnknownStreak() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 3))
        run.record([.passed, .unknown, .unknown, .passed, .unknown, .unknown])
        #expect(run.status == .passed)
        #expect(run.state.consecutiveUnknown == 2)
    }

    @Test("a failure clears the unknown streak")
    func failureClearsUnknownStreak() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 3))
        run.record([.passed, .unknown, .unknown, .failed, .unknown])
        #expect(run.state.consecutiveUnknown == 1)
        #expect(run.status == .passed)
    }
}

import Foundation
import HealthCore
import Testing

@Suite("CheckState: impairedSince")
struct CheckStateImpairedSinceTests {
    @Test("impairedSince is the time of the first failure of the streak that made it failed")
    func impairedSinceIsStreakStart() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 3))
        run.record([.passed, .failed, .failed])
        #expect(run.state.impairedSince == nil)
        #expect(run.state.failingSince == run.time(ofResult: 1))
        let transition = run.record(.failed)
        #expect(transition?.at == run.time(ofResult: 3))
        #expect(run.state.impairedSince == run.time(ofResult: 1))
        run.record([.failed, .failed])
        #expect(run.state.impairedSince == run.time(ofResult: 1))
    }

    @Test("impairedSince survives unknowns while the check stays failed")
    func survivesUnknowns() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 3))
        run.record([.failed, .failed, .failed, .unknown, .unknown])
        #expect(run.status == .failed)
        #expect(run.state.impairedSince == run.time(ofResult: 0))
        run.record(.failed)
        #expect(run.state.impairedSince == run.time(ofResult: 0))
    }

    @Test("impairedSince is cleared when the check passes")
    func clearedByPassed() {
        var run = EvaluatorRun()
        run.record([.failed, .failed, .passed])
        #expect(run.status == .passed)
        #expect(run.state.impairedSince == nil)
        #expect(run.state.failingSince == nil)
    }

    @Test("impairedSince is cleared when the check becomes insufficient-data")
    func clearedByInsufficientData() {
        var run = EvaluatorRun()
        run.record([.failed, .failed, .unknown, .unknown])
        #expect(run.status == .insufficientData)
        #expect(run.state.impairedSince == nil)
    }

    @Test("a new failing streak after recovery gets a new time")
    func newStreakNewTime() {
        var run = EvaluatorRun()
        run.record([.failed, .failed, .passed, .passed, .failed, .failed])
        #expect(run.status == .failed)
        #expect(run.state.impairedSince == run.time(ofResult: 4))
    }

    @Test("a pass that does not yet recover the check keeps impairedSince")
    func passBelowSuccessThresholdKeepsTime() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveSuccesses: 3))
        run.record([.failed, .failed, .passed, .failed, .failed])
        #expect(run.status == .failed)
        #expect(run.state.impairedSince == run.time(ofResult: 0))
        #expect(run.state.failingSince == run.time(ofResult: 3))
    }
}

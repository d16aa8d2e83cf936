import Foundation
import HealthCore
import Testing

@Suite("CheckState: the launch grace period")
struct CheckStateLaunchGraceTests {
    @Test("failures inside the launch grace period never make the check failed")
    func failuresInGraceStayInitializing() {
        var run = EvaluatorRun()
        for _ in 0..<5 {
            #expect(run.record(.failed, inLaunchGrace: true) == nil)
            #expect(run.state.status(inLaunchGrace: true) == .initializing)
        }
        #expect(run.state.decided == nil)
        #expect(run.transitions.isEmpty)
    }

    @Test("failures inside the grace period count: the first failure after it fails the check")
    func graceFailuresCountAfterGrace() {
        var run = EvaluatorRun()
        run.record([.failed, .failed], inLaunchGrace: true)
        #expect(run.state.consecutiveFailed == 2)
        let transition = run.record(.failed)
        #expect(transition?.from == .insufficientData)
        #expect(transition?.to == .failed)
        #expect(transition?.at == run.time(ofResult: 2))
        #expect(run.state.impairedSince == run.time(ofResult: 0))
    }

    @Test("after the grace period the streak must still be long enough")
    func graceStreakMustReachThreshold() {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 3))
        run.record(.failed, inLaunchGrace: true)
        #expect(run.record(.failed) == nil)
        #expect(run.status == .insufficientData)
        let transition = run.record(.failed)
        #expect(transition?.to == .failed)
        #expect(run.state.impairedSince == run.time(ofResult: 0))
    }

    @Test("a pass inside the grace period decides passed")
    func passInGraceDecides() {
        var run = EvaluatorRun()
        let transition = run.record(.passed, inLaunchGrace: true)
        #expect(transition?.from == .initializing)
        #expect(transition?.to == .passed)
        #expect(run.state.status(inLaunchGrace: true) == .passed)
    }

    @Test("a pass inside the grace period resets the failures counted in it")
    func passInGraceResetsStreak() {
        var run = EvaluatorRun()
        run.record([.failed, .passed, .failed], inLaunchGrace: true)
        #expect(run.record(.passed) == nil)
        #expect(run.status == .passed)
        run.record(.failed)
        #expect(run.status == .passed)
    }

    @Test("a check already failed stays failed when told it is inside a grace period")
    func failedStaysFailedInGrace() {
        var run = EvaluatorRun()
        run.record([.failed, .failed])
        #expect(run.record(.failed, inLaunchGrace: true) == nil)
        #expect(run.state.status(inLaunchGrace: true) == .failed)
        #expect(run.state.impairedSince == run.time(ofResult: 0))
    }
}

import Foundation
import HealthCore
import Testing

@Suite("CheckState: suppression windows")
struct CheckStateSuppressionTests {
    @Test("a failure recorded under suppression becomes unknown with the reason in its message")
    func suppressedFailureIsUnknown() {
        var run = EvaluatorRun()
        run.record(.failed, message: "QMP says paused", suppression: "instance paused")
        let observation = run.state.lastObservation
        #expect(observation?.outcome == .unknown)
        #expect(observation?.message == "suppressed (instance paused): QMP says paused")
        #expect(run.state.history == [.unknown])
        #expect(run.state.consecutiveFailed == 0)
        #expect(run.state.consecutiveUnknown == 1)
        #expect(run.state.failingSince == nil)
    }

    @Test("failures under suppression never make the check failed", arguments: [1, 2, 3])
    func suppressedFailuresNeverFail(threshold: Int) {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: threshold))
        run.record(.passed)
        for _ in 0..<10 { run.record(.failed, suppression: "migrating") }
        #expect(run.status == .insufficientData)
        #expect(run.state.impairedSince == nil)
        #expect(!run.transitions.contains { $0.to == .failed })
        let toInsufficient = run.transitions.last
        #expect(toInsufficient?.to == .insufficientData)
        #expect(toInsufficient?.reason.hasPrefix("suppressed (migrating): ") == true)
    }

    @Test("a pass under suppression is still a pass")
    func suppressedPassIsPass() {
        var run = EvaluatorRun()
        run.record([.failed, .failed])
        let transition = run.record(.passed, message: "running", suppression: "guest filesystems frozen")
        #expect(transition?.to == .passed)
        #expect(run.state.lastObservation?.outcome == .passed)
        #expect(run.state.lastObservation?.message == "running")
    }

    @Test("an unknown under suppression keeps its message")
    func suppressedUnknownUnchanged() {
        var run = EvaluatorRun()
        run.record(.unknown, message: "socket missing", suppression: "instance paused")
        #expect(run.state.lastObservation?.outcome == .unknown)
        #expect(run.state.lastObservation?.message == "socket missing")
    }

    @Test("a suppressed failure between failures acts as an unknown and keeps the streak")
    func suppressedFailureKeepsStreak() {
        var run = EvaluatorRun()
        run.record(.failed)
        run.record(.failed, suppression: "instance paused")
        #expect(run.status == .insufficientData)
        run.record(.failed)
        #expect(run.status == .failed)
        #expect(run.state.impairedSince == run.time(ofResult: 0))
    }
}

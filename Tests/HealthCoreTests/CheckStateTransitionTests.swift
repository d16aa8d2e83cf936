import Foundation
import HealthCore
import Testing

@Suite("CheckState: transitions")
struct CheckStateTransitionTests {
    @Test("a transition names from, to, when and why")
    func transitionFields() throws {
        var run = EvaluatorRun()
        let recordedFirst = run.record(.passed, message: "QMP status running")
        let first = try #require(recordedFirst)
        #expect(first.from == .insufficientData)
        #expect(first.to == .passed)
        #expect(first.at == run.time(ofResult: 0))
        #expect(first.reason == "QMP status running")
        #expect(!first.flapping)
        #expect(!first.flappingChanged)
        #expect(run.state.lastTransitionAt == run.time(ofResult: 0))

        run.record(.failed, message: "guest-panicked")
        let recordedFailed = run.record(.failed, message: "guest-panicked again")
        let failed = try #require(recordedFailed)
        #expect(failed.from == .passed)
        #expect(failed.to == .failed)
        #expect(failed.at == run.time(ofResult: 2))
        #expect(failed.reason == "guest-panicked again")
        #expect(run.state.lastTransitionAt == run.time(ofResult: 2))
    }

    @Test("recording returns nil when nothing changed")
    func nilWithoutChange() {
        var run = EvaluatorRun()
        run.record(.passed)
        #expect(run.record(.passed) == nil)
        #expect(run.record(.failed) == nil)
        #expect(run.record(.unknown) == nil)
        #expect(run.state.lastTransitionAt == run.time(ofResult: 0))
        #expect(run.state.lastObservedAt == run.time(ofResult: 3))
        #expect(run.transitions.count == 1)
    }

    @Test("the transitions of a whole run follow the rules in order")
    func sequenceOfTransitions() {
        var run = EvaluatorRun()
        run.record([.passed, .failed, .failed, .unknown, .unknown, .passed])
        let path = run.transitions.map { "\($0.from.rawValue)->\($0.to.rawValue)" }
        #expect(
            path == [
                "insufficient-data->passed", "passed->failed", "failed->insufficient-data",
                "insufficient-data->passed",
            ])
        #expect(run.transitions.map(\.at) == [0, 2, 4, 5].map(run.time(ofResult:)))
    }

    @Test("a transition is Codable")
    func transitionCodable() throws {
        let transition = CheckTransition(
            from: .passed, to: .failed, at: EvaluatorRun.start, reason: "x", flapping: true, flappingChanged: false)
        let decoded = try JSONDecoder().decode(CheckTransition.self, from: JSONEncoder().encode(transition))
        #expect(decoded == transition)
    }
}

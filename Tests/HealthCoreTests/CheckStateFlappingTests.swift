import Foundation
import HealthCore
import Testing

@Suite("CheckState: flap detection")
struct CheckStateFlappingTests {
    @Test("no flap decision before 21 results")
    func noDecisionBeforeFullHistory() {
        var run = EvaluatorRun()
        run.record(alternating(20))
        #expect(run.state.history.count == 20)
        #expect(run.state.percentStateChange == nil)
        #expect(!run.state.flapping)
        #expect(!run.transitions.contains { $0.flappingChanged })
    }

    @Test("21 alternating results make the check flapping and the transition says so")
    func alternatingResultsFlap() throws {
        var run = EvaluatorRun()
        run.record(alternating(20))
        let recorded = run.record(.passed)
        let transition = try #require(recorded)
        #expect(run.state.flapping)
        #expect(abs(try #require(run.state.percentStateChange) - 100) < 1e-9)
        #expect(transition.flapping)
        #expect(transition.flappingChanged)
        #expect(transition.from == .passed)
        #expect(transition.to == .passed)
        #expect(transition.at == run.time(ofResult: 20))
    }

    @Test("a flapping check keeps flapping without reporting it again")
    func flappingIsReportedOnce() {
        var run = EvaluatorRun()
        run.record(alternating(21))
        #expect(run.record(.failed) == nil)
        #expect(run.record(.passed) == nil)
        #expect(run.state.flapping)
        #expect(run.transitions.filter(\.flappingChanged).count == 1)
    }

    @Test("a steady run of 21 passes brings it below flapLow and stops the flapping")
    func steadyRunStopsFlapping() throws {
        var run = EvaluatorRun()
        run.record(alternating(21))
        #expect(run.state.flapping)
        var stops: [CheckTransition] = []
        var percentBeforeStop: [Double] = []
        for _ in 0..<21 {
            let percentBefore = try #require(run.state.percentStateChange)
            if let transition = run.record(.passed), transition.flappingChanged {
                stops.append(transition)
                percentBeforeStop.append(percentBefore)
                #expect(try #require(run.state.percentStateChange) < run.thresholds.flapLow)
            }
        }
        #expect(stops.count == 1)
        #expect(stops.first?.flapping == false)
        #expect(stops.first?.from == .passed)
        #expect(stops.first?.to == .passed)
        // Hysteresis: it kept flapping while the percentage was between flapLow and flapHigh.
        #expect(percentBeforeStop.allSatisfy { $0 >= run.thresholds.flapLow })
        #expect(!run.state.flapping)
        #expect(run.state.percentStateChange == 0)
    }

    @Test("the percent state change is weighted from 0.8 for the oldest change to 1.2 for the newest")
    func weightedPercentByHand() throws {
        var run = EvaluatorRun()
        // Changes at positions 1, 2, 10 and 20 of the 21 results.
        let outcomes: [Observation.Outcome] =
            [.passed, .failed] + Array(repeating: .passed, count: 8) + Array(repeating: .failed, count: 10) + [.passed]
        #expect(outcomes.count == 21)
        run.record(outcomes)
        // (0.8 + (0.8 + 0.4 * 1/19) + (0.8 + 0.4 * 9/19) + 1.2) / 20 * 100 = 16 + 58/19 = 362/19
        let percent = try #require(run.state.percentStateChange)
        #expect(abs(percent - 362.0 / 19.0) < 1e-9)
        #expect(!run.state.flapping)
    }

    @Test("the newest change weighs 1.2 and the oldest 0.8")
    func singleChangeWeights() throws {
        var newest = EvaluatorRun()
        newest.record(Array(repeating: .passed, count: 20) + [.failed])
        #expect(abs(try #require(newest.state.percentStateChange) - 6) < 1e-9)
        var oldest = EvaluatorRun()
        oldest.record([.failed] + Array(repeating: .passed, count: 20))
        #expect(abs(try #require(oldest.state.percentStateChange) - 4) < 1e-9)
    }

    @Test("custom flap thresholds are honoured")
    func customFlapThresholds() {
        let outcomes: [Observation.Outcome] =
            [.passed, .failed] + Array(repeating: .passed, count: 8) + Array(repeating: .failed, count: 10) + [.passed]
        var sensitive = EvaluatorRun(thresholds: Thresholds(flapHigh: 19, flapLow: 10))
        sensitive.record(outcomes)
        #expect(sensitive.state.flapping)
        var lenient = EvaluatorRun(thresholds: Thresholds(flapHigh: 20, flapLow: 10))
        lenient.record(outcomes)
        #expect(!lenient.state.flapping)
    }

    @Test("changes to and from unknown count as state changes")
    func unknownChangesCount() throws {
        var run = EvaluatorRun(thresholds: Thresholds(consecutiveFailures: 5))
        run.record((0..<21).map { $0.isMultiple(of: 2) ? .passed : .unknown })
        #expect(abs(try #require(run.state.percentStateChange) - 100) < 1e-9)
        #expect(run.state.flapping)
    }
}

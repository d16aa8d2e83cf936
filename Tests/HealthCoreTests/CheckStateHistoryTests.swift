import Foundation
import HealthCore
import HealthTestKit
import Testing

/// The history is kept as two bits per outcome; these runs compare it with the plain list it replaces and with the
/// percent state change computed from that list as Nagios does.
@Suite("CheckState: the history as bits")
struct CheckStateHistoryTests {
    /// Nagios's weighted percent state change over a full list, oldest first.
    static func referencePercent(_ history: [Observation.Outcome]) -> Double? {
        guard history.count == CheckState.historyLength else { return nil }
        var weighted = 0.0
        let steps = Double(history.count - 2)
        for index in 1..<history.count where history[index] != history[index - 1] {
            weighted += 0.8 + 0.4 * Double(index - 1) / steps
        }
        return weighted / Double(history.count - 1) * 100
    }

    @Test("random runs: the same history, percent state change and flapping as a list would give", arguments: [1, 2, 3, 4] as [UInt64])
    func matchesTheList(seed: UInt64) {
        var random = SplitMix(state: seed)
        var state = CheckState()
        var list: [Observation.Outcome] = []
        let thresholds = Thresholds()
        var flapping = false
        for step in 0..<600 {
            // Long steady stretches and stretches of noise, so flapping starts and stops.
            let noisy = (step / 60) % 2 == 1
            let outcome: Observation.Outcome =
                noisy ? Observation.Outcome.allCases[Int(random.next() % 3)] : (random.next() % 10 == 0 ? .unknown : .passed)
            state.record(Observation(outcome: outcome, message: "m"), at: Date(timeIntervalSince1970: Double(step)), thresholds: thresholds)
            list.append(outcome)
            if list.count > CheckState.historyLength { list.removeFirst() }
            #expect(state.history == list, "seed \(seed) step \(step)")
            let expected = Self.referencePercent(list)
            #expect(state.percentStateChange == expected, "seed \(seed) step \(step)")
            if let expected {
                if !flapping, expected >= thresholds.flapHigh { flapping = true }
                if flapping, expected < thresholds.flapLow { flapping = false }
            }
            #expect(state.flapping == flapping, "seed \(seed) step \(step)")
        }
    }

    @Test("setting the history keeps its newest entries and survives encoding")
    func settingAndCoding() throws {
        var state = CheckState()
        let long: [Observation.Outcome] = (0..<30).map { [.passed, .failed, .unknown][$0 % 3] }
        state.history = long
        #expect(state.history == Array(long.suffix(CheckState.historyLength)))
        let decoded = try JSONDecoder().decode(CheckState.self, from: JSONEncoder().encode(state))
        #expect(decoded.history == state.history)
        #expect(decoded == state)
        state.history = [.failed]
        #expect(state.history == [.failed])
        #expect(state.percentStateChange == nil)
    }
}

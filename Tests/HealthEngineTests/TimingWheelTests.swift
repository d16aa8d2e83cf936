import HealthCore
import HealthTestKit
import Testing

@testable import HealthEngine

/// The wheel against the simplest model of a timeline: a list, sorted on every take.
@Suite("Timing wheel")
struct TimingWheelTests {
    struct Entry: Equatable, TimedElement {
        var at: Duration
        var id: Int

        var due: Int64 { at.nanoseconds }
    }

    /// Random inserts (behind the cursor, inside the wheel's span, far beyond it, before the zero) and takes at a
    /// clock that moves by small steps and by jumps of hours: the same elements come out at the same moments, in time
    /// order, and `min` is always the model's earliest.
    @Test("takes what is due, in time order, as a sorted list would", arguments: [7, 8, 9] as [UInt64])
    func matchesTheModel(seed: UInt64) {
        var random = SplitMix(state: seed)
        // Small on purpose: 16 buckets of 10 ms, so the far heap and the jumps are exercised often.
        var wheel = TimingWheel<Entry>(tick: .milliseconds(10), bucketCount: 16)
        var model: [Entry] = []
        var now = Duration.zero
        var nextID = 0
        for step in 0..<1500 {
            for _ in 0..<Int(random.next() % 4) {
                let offset: Duration =
                    switch random.next() % 6 {
                    case 0: .milliseconds(Int64(random.next() % 50)) - .milliseconds(25)  // around now, some past
                    case 1: .milliseconds(Int64(random.next() % 160))  // inside the span
                    case 2: .seconds(Int64(random.next() % 600))  // far
                    case 3: .zero - .seconds(Int64(random.next() % 5))  // possibly before the zero
                    default: .milliseconds(Int64(random.next() % 2000))
                    }
                let entry = Entry(at: now + offset, id: nextID)
                nextID += 1
                wheel.insert(entry)
                model.append(entry)
            }
            #expect(wheel.count == model.count, "seed \(seed) step \(step)")
            #expect(wheel.min?.at == model.map(\.at).min(), "seed \(seed) step \(step)")
            now += random.next() % 50 == 0 ? .seconds(Int64(random.next() % 7200)) : .milliseconds(Int64(random.next() % 40))
            var taken: [Entry] = []
            while let entry = wheel.popDue(now: now.nanoseconds) {
                taken.append(entry)
                #expect(taken.count <= model.count + 1, "seed \(seed) step \(step): more out than in")
                if taken.count > model.count + 1 { break }
            }
            let due = model.filter { $0.at <= now }
            model.removeAll { $0.at <= now }
            #expect(taken.map(\.at) == due.map(\.at).sorted(), "seed \(seed) step \(step)")
            #expect(Set(taken.map(\.id)) == Set(due.map(\.id)), "seed \(seed) step \(step)")
        }
    }

    @Test("an element inserted while taking, already due, comes out in the same round")
    func insertWhileTaking() {
        var wheel = TimingWheel<Entry>(tick: .milliseconds(10), bucketCount: 8)
        wheel.insert(Entry(at: .milliseconds(5), id: 1))
        wheel.insert(Entry(at: .seconds(90), id: 2))
        let now = Duration.milliseconds(500)
        #expect(wheel.popDue(now: now.nanoseconds)?.id == 1)
        wheel.insert(Entry(at: .milliseconds(400), id: 3))
        wheel.insert(Entry(at: .milliseconds(501), id: 4))
        #expect(wheel.popDue(now: now.nanoseconds)?.id == 3)
        #expect(wheel.popDue(now: now.nanoseconds) == nil)
        #expect(wheel.min?.id == 4)
        #expect(wheel.popDue(now: Duration.seconds(100).nanoseconds)?.id == 4)
        #expect(wheel.popDue(now: Duration.seconds(100).nanoseconds)?.id == 2)
        #expect(wheel.isEmpty)
    }
}

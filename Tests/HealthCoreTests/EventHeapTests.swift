import HealthCore
import HealthTestKit
import Testing

@Suite("EventHeap: a min-heap that pops in order")
struct EventHeapTests {
    @Test("inserts and pops interleaved give what a sorted list gives", arguments: [1, 2, 7, 42, 1000])
    func matchesSortedList(seed: UInt64) {
        var random = SplitMix(state: seed)
        var heap = EventHeap<Int>(by: <)
        var model: [Int] = []
        for _ in 0..<2_000 {
            if model.isEmpty || Int.random(in: 0..<3, using: &random) > 0 {
                let value = Int.random(in: 0..<500, using: &random)
                heap.insert(value)
                model.append(value)
            } else {
                model.sort()
                #expect(heap.popMin() == model.removeFirst(), "seed \(seed)")
            }
            #expect(heap.count == model.count)
            #expect(heap.min == model.min())
        }
        model.sort()
        var drained: [Int] = []
        while let value = heap.popMin() { drained.append(value) }
        #expect(drained == model, "seed \(seed)")
        #expect(heap.isEmpty)
        #expect(heap.popMin() == nil)
    }

    @Test("popMin(if:) takes the due elements, earliest first, and leaves the rest")
    func popsOnlyDue() {
        var heap = EventHeap<(at: Int, name: String)>(by: { $0.at < $1.at })
        for (at, name) in [(30, "c"), (10, "a"), (50, "e"), (20, "b"), (40, "d")] { heap.insert((at, name)) }
        var due: [String] = []
        while let event = heap.popMin(if: { $0.at <= 30 }) { due.append(event.name) }
        #expect(due == ["a", "b", "c"])
        #expect(heap.count == 2)
        #expect(heap.min?.name == "d")
        #expect(heap.popMin(if: { $0.at <= 30 }) == nil)
    }
}

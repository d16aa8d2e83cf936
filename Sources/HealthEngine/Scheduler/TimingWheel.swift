import HealthCore

/// The scheduler's timeline of due times and deadlines: a timing wheel of `bucketCount` buckets, each `tick` wide,
/// for what falls within one turn of the wheel, and a heap for what lies further out (moved into the wheel as its
/// turn comes near).
///
/// At 120,000 jobs a binary heap paid two walks of seventeen levels per run, most of them cache misses; here an insert
/// is an append to its bucket and taking what is due sorts one small bucket at a time. Elements come out in time
/// order, as from a heap: what is taken from a bucket waits, sorted, until it is due.
///
/// Times are nanoseconds: a `Duration` is a 128-bit count of attoseconds, and each tick taken of one (a division of
/// 128-bit numbers) or comparison of two (a call into the standard library) cost more than the wheel itself.
struct TimingWheel<Element: TimedElement> {
    private let tickNanos: Int64
    private let mask: Int
    private var buckets: [[Element]]
    /// Elements of buckets already taken that are not due yet, and elements inserted behind the cursor: sorted,
    /// latest first (the next one is the last). All of them precede every element still in a bucket.
    private var pending: [Element] = []
    private var far: EventHeap<Element>
    /// The tick of the next bucket to take; the wheel holds the ticks `cursor ..< cursor + bucketCount`.
    private var cursor: Int64 = 0
    private var inWheel = 0

    /// - Parameters:
    ///   - tick: the width of a bucket.
    ///   - bucketCount: rounded up to a power of two; `tick * bucketCount` is the span the wheel holds.
    init(tick: Duration, bucketCount: Int) {
        var count = 1
        while count < max(1, bucketCount) { count <<= 1 }
        self.tickNanos = max(1, tick.nanoseconds)
        self.mask = count - 1
        self.buckets = Array(repeating: [], count: count)
        self.far = EventHeap(by: { $0.due < $1.due })
    }

    var count: Int { pending.count + inWheel + far.count }
    var isEmpty: Bool { count == 0 }

    private func tick(of element: Element) -> Int64 {
        let nanos = element.due
        // Floor division: an element before the zero belongs to a tick before the first.
        return nanos >= 0 ? nanos / tickNanos : -((-nanos + tickNanos - 1) / tickNanos)
    }

    mutating func insert(_ element: Element) {
        let tick = tick(of: element)
        if tick < cursor {
            // Behind the cursor (due at once): into the sorted pending list.
            let at = element.due
            var low = 0
            var high = pending.count
            while low < high {
                let middle = (low + high) / 2
                if pending[middle].due > at { low = middle + 1 } else { high = middle }
            }
            pending.insert(element, at: low)
        } else if tick - cursor <= Int64(mask) {
            buckets[Int(tick) & mask].append(element)
            inWheel += 1
        } else {
            far.insert(element)
        }
    }

    /// The earliest element.
    var min: Element? {
        if let next = pending.last { return next }
        if inWheel > 0 {
            for offset in 0...mask {
                let bucket = buckets[Int(cursor + Int64(offset)) & mask]
                guard var earliest = bucket.first else { continue }
                for element in bucket.dropFirst() where element.due < earliest.due { earliest = element }
                return earliest
            }
        }
        return far.min
    }

    /// Takes the earliest element if it is due at `now` (nanoseconds from the clock's zero).
    mutating func popDue(now nowNanos: Int64) -> Element? {
        // Each turn takes one bucket or returns; at most one turn of the wheel before it is empty and jumps.
        while true {
            if let next = pending.last {
                return next.due <= nowNanos ? pending.removeLast() : nil
            }
            if inWheel == 0 {
                guard let first = far.min else { return nil }
                // Nothing in the wheel: move it on to the far heap's first tick (no further than now), so a long quiet
                // stretch is not walked bucket by bucket.
                let target = Swift.min(tick(of: first), nowNanos >= 0 ? nowNanos / tickNanos : cursor)
                if target > cursor { cursor = target }
                migrate()
                if inWheel == 0, pending.isEmpty { return nil }
                continue
            }
            guard cursor <= (nowNanos >= 0 ? nowNanos / tickNanos : -1) else { return nil }
            let index = Int(cursor) & mask
            swap(&pending, &buckets[index])
            inWheel -= pending.count
            // Latest first, and among equals the first inserted last: taken from the end, equal times come out in
            // the order they went in.
            pending.reverse()
            pending.sort { $0.due > $1.due }
            cursor += 1
            migrate()
        }
    }

    /// Moves elements of the far heap whose tick the wheel now holds into it.
    private mutating func migrate() {
        while let first = far.min, tick(of: first) - cursor <= Int64(mask) {
            far.popMin()
            insert(first)
        }
    }
}

/// What the timing wheel holds: something due at a moment, in nanoseconds from the clock's zero (the scheduler's
/// epoch). A protocol, not a closure, so that the wheel's comparisons are inlined where it is specialized.
protocol TimedElement {
    var due: Int64 { get }
}

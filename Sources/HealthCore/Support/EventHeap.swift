/// A binary min-heap ordered by a comparison: the ICMP loop's send queue and echo deadlines, and what lies beyond
/// the scheduler's timing wheel.
///
/// Inlinable, so each user's element type is specialized in its own module: unspecialized, every comparison and swap
/// went through value witnesses and metadata lookups (a tenth of the scheduler's CPU).
public struct EventHeap<Element> {
    @usableFromInline var storage: [Element] = []
    @usableFromInline let areInIncreasingOrder: (Element, Element) -> Bool

    @inlinable
    public init(by areInIncreasingOrder: @escaping (Element, Element) -> Bool) {
        self.areInIncreasingOrder = areInIncreasingOrder
    }

    @inlinable public var isEmpty: Bool { storage.isEmpty }
    @inlinable public var count: Int { storage.count }
    @inlinable public var min: Element? { storage.first }

    @inlinable
    public mutating func insert(_ element: Element) {
        storage.append(element)
        // Sift up with a hole: parents move down, the new element is written once.
        storage.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard areInIncreasingOrder(element, heap[parent]) else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = element
        }
    }

    @inlinable @discardableResult
    public mutating func popMin() -> Element? {
        guard !storage.isEmpty else { return nil }
        return removeFirst()
    }

    /// The earliest element, taken only when `isDue` holds for it: a loop drains what is due without copying each
    /// element twice (once to look, once to take).
    @inlinable
    public mutating func popMin(if isDue: (Element) -> Bool) -> Element? {
        guard let first = storage.first, isDue(first) else { return nil }
        return removeFirst()
    }

    @inlinable
    mutating func removeFirst() -> Element {
        let last = storage.removeLast()
        guard !storage.isEmpty else { return last }
        return storage.withUnsafeMutableBufferPointer { heap in
            let top = heap[0]
            // Sift down with a hole at the root: the smaller child moves up until `last` fits.
            var parent = 0
            let count = heap.count
            while true {
                let left = 2 * parent + 1
                if left >= count { break }
                let right = left + 1
                let smaller = right < count && areInIncreasingOrder(heap[right], heap[left]) ? right : left
                guard areInIncreasingOrder(heap[smaller], last) else { break }
                heap[parent] = heap[smaller]
                parent = smaller
            }
            heap[parent] = last
            return top
        }
    }

    @inlinable public mutating func removeAll() { storage.removeAll() }
}

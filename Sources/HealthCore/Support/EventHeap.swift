/// A binary min-heap ordered by a comparison: the scheduler's timeline of due times and deadlines, the ICMP loop's
/// send queue and echo deadlines.
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
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard areInIncreasingOrder(storage[child], storage[parent]) else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    @inlinable @discardableResult
    public mutating func popMin() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < storage.count, areInIncreasingOrder(storage[left], storage[smallest]) { smallest = left }
            if right < storage.count, areInIncreasingOrder(storage[right], storage[smallest]) { smallest = right }
            if smallest == parent { break }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    @inlinable public mutating func removeAll() { storage.removeAll() }
}

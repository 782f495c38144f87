/// Elements in the order they were added, taken from the front: taking one moves an index, and
/// the taken front is dropped in place once it is most of the array, which keeps both the memory
/// and the cost of the move bounded without a new buffer. The expiry queues' storage.
struct FrontQueue<Element: Sendable>: Sendable {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var first: Element? { head < storage.count ? storage[head] : nil }

    mutating func append(_ element: Element) { storage.append(element) }

    /// Whether the next append grows the storage.
    var isFull: Bool { storage.count == storage.capacity }

    /// Drops the elements `isStale` picks, keeping the others in order, and keeps the storage.
    /// When that left it more than three quarters full, the storage is doubled at once, so
    /// that a caller dropping stale elements whenever the queue is full does so after as many
    /// appends as the queue holds, not after every one.
    mutating func removeAll(where isStale: (Element) -> Bool) {
        storage.removeSubrange(0..<head)
        head = 0
        storage.removeAll(where: isStale)
        if storage.count * 4 > storage.capacity * 3 { storage.reserveCapacity(storage.capacity * 2) }
    }

    /// Takes the first element; there must be one.
    mutating func removeFirst() {
        head += 1
        if head > 1024 && head * 2 > storage.count {
            storage.removeSubrange(0..<head)
            head = 0
        }
    }
}

/// Elements in the order they were added, taken from the front: taking one moves an index, and
/// the taken front is dropped in place once it is most of the array, which keeps both the memory
/// and the cost of the move bounded without a new buffer. The expiry queues' storage.
struct FrontQueue<Element: Sendable>: Sendable {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var first: Element? { head < storage.count ? storage[head] : nil }

    mutating func append(_ element: Element) { storage.append(element) }

    /// Takes the first element; there must be one.
    mutating func removeFirst() {
        head += 1
        if head > 1024 && head * 2 > storage.count {
            storage.removeSubrange(0..<head)
            head = 0
        }
    }
}

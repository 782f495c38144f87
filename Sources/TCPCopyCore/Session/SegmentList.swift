/// The segments a session holds in order (queued, or in flight). A short session holds one at a
/// time (the request, later the FIN), which is kept inline: the session then allocates nothing
/// for its lists. More go to an array behind it.
///
/// A copy that lags its client (a keep-alive connection at full load) can hold thousands, so
/// every operation a packet triggers is O(1) amortised: the array is consumed from a start index
/// and compacted once half of it is consumed, never shifted element by element.
struct SegmentList: RandomAccessCollection, MutableCollection, Sendable, Equatable {
    /// The first segment; nil only when the list is empty.
    private var head: PendingSegment?
    private var tail: [PendingSegment] = []
    /// Entries of `tail` before this index are consumed (kept until the next compaction).
    private var tailStart = 0
    /// How many segments the list holds. Stored because testing `head` for nil copies the
    /// optional segment (retaining its payload) on every call, and `endIndex` is called several
    /// times a packet (docs/performance-history.md).
    private var storedCount = 0

    init() {}

    init(_ segments: some Sequence<PendingSegment>) {
        for segment in segments { append(segment) }
    }

    static func == (lhs: SegmentList, rhs: SegmentList) -> Bool { lhs.elementsEqual(rhs) }

    var startIndex: Int { 0 }
    var endIndex: Int { storedCount }

    subscript(position: Int) -> PendingSegment {
        get {
            precondition(position >= 0 && position < endIndex, "segment index out of range")
            return position == 0 ? head! : tail[tailStart + position - 1]
        }
        set {
            precondition(position >= 0 && position < endIndex, "segment index out of range")
            if position == 0 { head = newValue } else { tail[tailStart + position - 1] = newValue }
        }
    }

    mutating func append(_ segment: PendingSegment) {
        if storedCount == 0 { head = segment } else { tail.append(segment) }
        storedCount += 1
    }

    @discardableResult
    mutating func removeFirst() -> PendingSegment {
        precondition(storedCount > 0, "removeFirst on an empty list")
        let first = head!
        storedCount -= 1
        if tailStart < tail.count {
            head = tail[tailStart]
            tailStart += 1
            if tailStart == tail.count {
                tail.removeAll(keepingCapacity: true)
                tailStart = 0
            } else if tailStart >= 32 && tailStart * 2 >= tail.count {
                // The consumed half goes (and its payloads with it) in one move.
                tail.removeFirst(tailStart)
                tailStart = 0
            }
        } else {
            head = nil
        }
        return first
    }

    /// Removes segments from the front while `shouldBeRemoved` holds: the acknowledged ones of a
    /// list in sequence order.
    mutating func removeFirst(while shouldBeRemoved: (PendingSegment) -> Bool) {
        while storedCount > 0, shouldBeRemoved(head!) { removeFirst() }
    }

    /// Empties the list and releases its array.
    mutating func removeAll() {
        head = nil
        tail = []
        tailStart = 0
        storedCount = 0
    }
}

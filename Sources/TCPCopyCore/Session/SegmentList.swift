/// The segments a session holds in order (queued, or in flight). A short session holds one at a
/// time (the request, later the FIN), which is kept inline: the session then allocates nothing
/// for its lists. More go to an array behind it.
struct SegmentList: RandomAccessCollection, MutableCollection, Sendable, Equatable {
    /// The first segment; nil only when the list is empty.
    private var head: PendingSegment?
    private var tail: [PendingSegment] = []

    init() {}

    init(_ segments: some Sequence<PendingSegment>) {
        for segment in segments { append(segment) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { head == nil ? 0 : 1 + tail.count }

    subscript(position: Int) -> PendingSegment {
        get {
            precondition(position >= 0 && position < endIndex, "segment index out of range")
            return position == 0 ? head! : tail[position - 1]
        }
        set {
            precondition(position >= 0 && position < endIndex, "segment index out of range")
            if position == 0 { head = newValue } else { tail[position - 1] = newValue }
        }
    }

    mutating func append(_ segment: PendingSegment) {
        if head == nil { head = segment } else { tail.append(segment) }
    }

    @discardableResult
    mutating func removeFirst() -> PendingSegment {
        precondition(head != nil, "removeFirst on an empty list")
        let first = head!
        head = tail.isEmpty ? nil : tail.removeFirst()
        return first
    }

    mutating func removeAll(where shouldBeRemoved: (PendingSegment) throws -> Bool) rethrows {
        guard let first = head else { return }
        if tail.isEmpty {
            if try shouldBeRemoved(first) { head = nil }
            return
        }
        let kept = try filter { try !shouldBeRemoved($0) }
        self = SegmentList(kept)
    }

    /// Empties the list and releases its array.
    mutating func removeAll() {
        head = nil
        tail = []
    }
}

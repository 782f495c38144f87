/// The client's byte stream put back in order as the capture delivers it: duplicates dropped,
/// overlaps trimmed, segments beyond a gap (a lost or reordered capture) kept aside until it
/// fills. What is in order waits in `ready` until the session sends it.
struct ReassemblyQueue: Sendable {
    /// The next sequence number expected from the capture.
    private(set) var next: SequenceNumber
    /// In order, not sent yet.
    private(set) var ready = SegmentList()
    /// Payload bytes in `ready`: kept as it changes, because a copy that lags its client can
    /// queue thousands of segments and this is asked for on every captured packet.
    private(set) var readyBytes = 0
    /// The client's FIN is in the stream: nothing after it is taken.
    private(set) var hasFin = false
    /// The client reset its connection: the RST goes after what is queued has been delivered.
    var endsWithReset = false
    /// Captured beyond a gap, in sequence order; at most `maximumOutOfOrder` of them.
    private var outOfOrder: [PendingSegment] = []
    /// Since when segments have been waiting beyond a gap.
    private(set) var gapSince: MonotonicTime?

    init(next: SequenceNumber) { self.next = next }

    var isEmpty: Bool { ready.isEmpty }
    var first: PendingSegment? { ready.first }

    /// Bytes held: in order and beyond a gap (the latter are few: at most `maximumOutOfOrder`
    /// segments).
    var queuedBytes: Int { readyBytes + outOfOrder.reduce(0) { $0 + $1.payload.count } }

    /// `queuedBytes` without walking the list: the bytes beyond the gap are bounded by the span
    /// from the gap to the end of the last of them (the list is kept sorted).
    var queuedBytesEstimate: Int {
        @inline(__always) get { readyBytes + (outOfOrder.last.map { max(0, $0.end - next) } ?? 0) }
    }

    /// Puts a captured segment in stream order. `maximumOutOfOrder`: how many segments may wait
    /// beyond a gap; more are dropped (the client retransmits them, or the gap never fills).
    mutating func accept(_ incoming: PendingSegment, now: MonotonicTime, maximumOutOfOrder: Int) {
        var segment = incoming
        guard segment.end > next else { return }  // a client retransmission
        if segment.sequence > next {
            if outOfOrder.count < maximumOutOfOrder, !outOfOrder.contains(where: { $0.sequence == segment.sequence }) {
                if outOfOrder.isEmpty { gapSince = now }
                outOfOrder.append(segment)
                outOfOrder.sort { $0.sequence < $1.sequence }
            }
            return
        }
        segment.trimFront(to: next)
        append(segment)
        while let index = outOfOrder.firstIndex(where: { $0.sequence <= next }) {
            var following = outOfOrder.remove(at: index)
            guard following.end > next else { continue }
            following.trimFront(to: next)
            append(following)
        }
        if outOfOrder.isEmpty { gapSince = nil }
    }

    private mutating func append(_ segment: PendingSegment) {
        guard !hasFin else { return }
        ready.append(segment)
        readyBytes += segment.payload.count
        if segment.isFin { hasFin = true }
        next = segment.end
    }

    /// Takes the first ready segment, to send it.
    @discardableResult
    mutating func removeFirst() -> PendingSegment {
        let segment = ready.removeFirst()
        readyBytes -= segment.payload.count
        return segment
    }

    /// Everything held (in order, then beyond the gap) that does not end before `position`:
    /// the rest of the stream, for a new connection to carry on.
    func unsent(from position: SequenceNumber) -> [PendingSegment] {
        var stream = Array(ready) + outOfOrder
        stream.removeAll { $0.sequence < position && $0.end <= position }
        return stream
    }

    /// Drops everything held (the session ended).
    mutating func removeAll() {
        ready.removeAll()
        readyBytes = 0
        outOfOrder.removeAll()
    }
}

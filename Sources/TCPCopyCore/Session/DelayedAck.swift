/// The acknowledgment we owe the target and have not sent yet.
///
/// A client's TCP delays its ACK of received data (RFC 1122 4.2.3.2, RFC 5681 4.2) so that it
/// rides on the next segment it sends (its next request, its FIN) instead of costing a packet of
/// its own; we do the same, because every packet we send costs tcpcopy and the target CPU. The
/// session decides when waiting would cost the target more than the packet (see
/// `EmulatedSession.targetSent`) and makes the ACK due at once.
struct DelayedAck: Sendable {
    /// When a bare ACK must go if no segment of ours has carried the acknowledgment; nil when
    /// nothing is owed.
    private(set) var deadline: MonotonicTime?
    /// Sequence space the target sent since our last acknowledgment.
    private(set) var unacknowledgedBytes = 0

    var isPending: Bool { deadline != nil }

    func isDue(now: MonotonicTime) -> Bool { deadline.map { now >= $0 } ?? false }

    /// The target sent `count` new bytes of sequence space. The delay runs from the first
    /// segment not acknowledged: later ones do not push it back, so no ACK waits longer than
    /// `delay` (RFC 1122 bounds it).
    mutating func received(_ count: Int, now: MonotonicTime, delay: Int64) {
        unacknowledgedBytes += count
        if deadline == nil { deadline = now + delay }
    }

    /// The acknowledgment must go now: on a segment sent in this event, or bare at its end.
    mutating func makeDue(now: MonotonicTime) {
        deadline = min(deadline ?? now, now)
    }

    /// A segment carrying our acknowledgment of everything received went out.
    mutating func carried() {
        deadline = nil
        unacknowledgedBytes = 0
    }
}

/// What the session sent the target and the target has not acknowledged, and when to send it
/// again: RFC 6298's timer (backed off on each expiry, restarted by new acknowledgments), RFC
/// 5681's fast retransmit on the third duplicate ACK, and the round-trip estimate from segments
/// sent once (Karn's rule). Until the handshake completes the same timer repeats the SYN.
///
/// It decides; the session sends (it builds the segments).
struct RetransmissionQueue: Sendable {
    /// Sent, not acknowledged yet, in sequence order.
    private(set) var segments = SegmentList()
    /// The next sequence number to send (SND.NXT).
    private(set) var next: SequenceNumber
    /// The first sequence number not acknowledged (SND.UNA).
    private(set) var acknowledged: SequenceNumber
    /// When the first unacknowledged segment (or the SYN) goes again; nil when nothing waits.
    private(set) var deadline: MonotonicTime?
    private var interval: Int64
    /// Expiries since the last new acknowledgment.
    private(set) var attempts = 0
    private var duplicateAcks = 0
    private(set) var roundTrip = RoundTripEstimator()
    /// The segment timed for a round-trip sample: its end and when it was sent.
    private var probe: (end: SequenceNumber, sentAt: MonotonicTime)?
    /// Data segments sent again, in all.
    private(set) var retransmissions = 0

    /// The SYN with sequence number `isn` went at `now`; it goes again after `synTimeout`.
    init(synSequence isn: SequenceNumber, synTimeout: Int64, now: MonotonicTime) {
        next = isn + 1
        acknowledged = isn
        interval = synTimeout
        deadline = now + synTimeout
    }

    /// Sequence space sent and not acknowledged (data, and a FIN or SYN).
    var bytesInFlight: Int { next - acknowledged }
    var everythingAcknowledged: Bool { acknowledged == next }

    /// The target answered our SYN at `now`; the first SYN went at `synSentAt`. A sample only if
    /// the SYN went once.
    mutating func handshakeCompleted(now: MonotonicTime, synSentAt: MonotonicTime, tuning: SessionTuning) {
        if attempts == 0 { roundTrip.add(sampleMilliseconds: now - synSentAt) }
        acknowledged = next
        stopTimer(tuning)
    }

    /// `segment` went out for the first time.
    mutating func sent(_ segment: PendingSegment, now: MonotonicTime) {
        segments.append(segment)
        next = segment.end
        if deadline == nil { deadline = now + interval }
        if probe == nil { probe = (segment.end, now) }
    }

    /// The target acknowledged up to `ack`. `isBare`: the segment carried neither data nor FIN,
    /// so that, acknowledging nothing new, it counts as a duplicate ACK. Returns true on the third
    /// duplicate: the first unacknowledged segment must go again now (`resend`).
    mutating func acknowledge(
        _ ack: SequenceNumber, isBare: Bool, now: MonotonicTime, tuning: SessionTuning
    ) -> Bool {
        if ack > acknowledged && ack <= next {
            acknowledged = ack
            segments.removeFirst { $0.end <= ack }
            if !segments.isEmpty { segments[0].trimFront(to: ack) }
            duplicateAcks = 0
            if let probe, ack >= probe.end {
                roundTrip.add(sampleMilliseconds: now - probe.sentAt)
                self.probe = nil
            }
            attempts = 0
            interval = timeout(tuning)
            if segments.isEmpty { stopTimer(tuning) } else { deadline = now + interval }
            return false
        }
        guard ack == acknowledged, !segments.isEmpty, isBare else { return false }
        duplicateAcks += 1
        return duplicateAcks == 3
    }

    /// The first unacknowledged segment, to send again (nil when there is none). No round-trip
    /// sample follows: an acknowledgment could then be for either copy (Karn).
    mutating func resend() -> PendingSegment? {
        guard let first = segments.first else { return nil }
        retransmissions += 1
        probe = nil
        return first
    }

    /// The timer ran out at `now`: returns false once it has run out more than `limit` times
    /// without a new acknowledgment (give up); else doubles the interval (up to `maximum`),
    /// restarts the timer and returns true (send the SYN, or `resend()`, again).
    mutating func expire(now: MonotonicTime, limit: Int, maximum: Int64) -> Bool {
        attempts += 1
        guard attempts <= limit else { return false }
        interval = min(interval * 2, maximum)
        deadline = now + interval
        return true
    }

    /// Drops what is held (the session ended).
    mutating func removeAll() { segments.removeAll() }

    private mutating func stopTimer(_ tuning: SessionTuning) {
        deadline = nil
        attempts = 0
        interval = timeout(tuning)
    }

    private func timeout(_ tuning: SessionTuning) -> Int64 {
        roundTrip.retransmitTimeout(
            initial: tuning.initialRetransmitMilliseconds, minimum: tuning.minimumRetransmitMilliseconds,
            maximum: tuning.maximumRetransmitMilliseconds)
    }
}

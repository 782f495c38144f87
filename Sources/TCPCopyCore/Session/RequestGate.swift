/// Holds the client's next request until the target has answered the previous one, the way the
/// client itself waited for the online server.
///
/// Each captured segment carries the client's acknowledgment of the online server's stream.
/// Segments with the same acknowledgment belong to one burst (one request, or pipelined
/// requests) and go together. A segment with a higher acknowledgment was written after the
/// client had read that many more bytes from the online server; it waits until the target has
/// sent at least as many bytes since the last release, or has answered something and then gone
/// quiet, or a maximum wait passes.
struct RequestGate: Sendable {
    /// The client acknowledgment of the last burst released (or of the handshake).
    private(set) var releasedAck: SequenceNumber?
    /// Sequence space the target has produced since that release.
    private(set) var answered = 0
    private var releasedAt: MonotonicTime
    private var lastAnswerAt: MonotonicTime
    /// The target's latest answer segment carried PSH: the end of one of its writes.
    private var answerPushed = false
    /// True while `releasedAck` is only the handshake's: the first burst has not gone yet, so
    /// its release must start the clocks even though it carries the same acknowledgment.
    private var onlyBaseline = false

    init(now: MonotonicTime) {
        releasedAt = now
        lastAnswerAt = now
    }

    /// The client's handshake ACK: the online server's stream starts here.
    mutating func setBaseline(clientAck: SequenceNumber) {
        guard releasedAck == nil else { return }
        releasedAck = clientAck
        onlyBaseline = true
    }

    /// The target produced `count` new bytes of sequence space (data or FIN).
    mutating func noteAnswer(_ count: Int, pushed: Bool = false, now: MonotonicTime) {
        answered += count
        lastAnswerAt = now
        answerPushed = pushed
    }

    /// `quietMilliseconds`: how long the target must have been silent after answering something
    /// for its answer to count as complete. `closing`: the burst is the client's bare FIN, which
    /// waits for the whole answer (see below).
    func allows(
        clientAck: SequenceNumber, everythingAcked: Bool, quietMilliseconds: Int64, now: MonotonicTime,
        tuning: SessionTuning, closing: Bool = false
    ) -> Bool {
        guard let releasedAck else { return true }
        let expected = clientAck - releasedAck
        if expected <= 0 { return true }
        if answered >= expected { return true }
        // A write of the target's ended (PSH), it has all of the request, and it answered at
        // least half as much as the online server: take its answer as complete now, rather than
        // after round trips of quiet that CPU load can stretch. (Half: an answer a little shorter
        // than the online one is common; a header written apart from its body is not the end.)
        //
        // Not for the client's FIN: nothing follows it, so it loses nothing by waiting for the
        // rest of the answer, which is usually the target's own FIN a moment behind its last
        // write. Sent after that FIN, ours carries the acknowledgment of it and the session takes
        // three packets (SYN, request, FIN); sent between them, the target's FIN needs a bare ACK
        // of its own, a fourth packet through the whole copy path.
        if !closing && answered > 0 && everythingAcked && answerPushed && answered * 2 >= expected { return true }
        if answered > 0 && everythingAcked
            && now - lastAnswerAt >= quietMilliseconds
        {
            return true
        }
        if answered == 0 && everythingAcked && now - releasedAt >= tuning.silentTargetMilliseconds {
            return true
        }
        return now - releasedAt >= tuning.responseWaitMilliseconds
    }

    /// The earliest time `allows` can turn true by the clock alone, for the same arguments: the
    /// target's answers and acknowledgments arrive as events, each of which looks at the gate
    /// again, so a held request needs its timer only for this (not a poll every few ms).
    func opensByClock(everythingAcked: Bool, quietMilliseconds: Int64, tuning: SessionTuning) -> MonotonicTime {
        var opens = releasedAt + tuning.responseWaitMilliseconds
        if everythingAcked {
            opens = min(
                opens,
                answered > 0 ? lastAnswerAt + quietMilliseconds : releasedAt + tuning.silentTargetMilliseconds)
        }
        return opens
    }

    /// A segment with `clientAck` is being sent: a new burst starts if it acknowledges more.
    mutating func release(clientAck: SequenceNumber, now: MonotonicTime) {
        if let releasedAck {
            if clientAck < releasedAck { return }  // an older acknowledgment: same burst
            if clientAck == releasedAck && !onlyBaseline { return }
        }
        onlyBaseline = false
        releasedAck = clientAck
        answered = 0
        answerPushed = false
        releasedAt = now
    }
}

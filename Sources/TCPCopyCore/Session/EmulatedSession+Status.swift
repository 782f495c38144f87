/// What the engine reads of a session: its state, its next timer, what it waits for and holds.
extension EmulatedSession {
    /// Whether a timer shorter than the idle timeout is running: a retransmission, a held
    /// request's wait, a client reset waiting for the data before it, the FIN-WAIT-2 limit, or a
    /// delayed ACK.
    public var hasShortTimer: Bool {
        if case .finWait2 = phase { return true }
        return sent.deadline != nil || !captured.isEmpty || captured.endsWithReset || target.delayedAck.isPending
    }

    /// The next time `tick` may have something to do; nil once closed.
    @inline(__always)
    public func nextDeadline(now: MonotonicTime) -> MonotonicTime? {
        var deadline = lastActivity + tuning.idleTimeoutMilliseconds
        switch phase {
        case .closed: return nil
        case .established:
            if let limit = tuning.keepAliveTimeoutMilliseconds { deadline = min(deadline, lastActivity + limit) }
        case .finWait2(_, let since): deadline = min(deadline, since + tuning.finWait2Milliseconds)
        case .synSent, .finWait1, .closeWait, .closing, .lastAck: break
        }
        if let retransmit = sent.deadline { deadline = min(deadline, retransmit) }
        if let ack = target.delayedAck.deadline { deadline = min(deadline, ack) }
        if let since = captured.gapSince { deadline = min(deadline, since + tuning.captureGapMilliseconds) }
        if phase.sendsClientData, !captured.isEmpty {
            // Held requests: the target's answers and acknowledgments arrive as events, which
            // pump again; by the clock alone only the gate opens. (At full load thousands of
            // sessions hold their client's FIN until the answer, and polling each every 10 ms
            // showed in tcpcopy's profile: docs/performance-history.md.) Not sooner than 10 ms:
            // when the gate is open and the window or an unacknowledged FIN holds the queue,
            // that is again up to events.
            let opens = gate.opensByClock(
                everythingAcked: sent.everythingAcknowledged, quietMilliseconds: responseQuietTime, tuning: tuning)
            deadline = min(deadline, max(opens, now + 10))
        }
        return deadline
    }

    /// What a live session is waiting for. tcpcopy counts the sessions it ends when it stops
    /// by this (`sessions_stopped_awaiting_*`): the copies a run lost at its end, and why.
    public enum Wait: String, CaseIterable, Sendable {
        /// Our SYN is unanswered.
        case handshake
        /// Data of ours is unacknowledged (retransmitting, or not yet due).
        case acknowledgment
        /// A request waits in the queue for the target's answer to the one before.
        case answer
        /// Closing: a FIN exchange is under way.
        case close
        /// Nothing of ours outstanding: the client is quiet.
        case client
    }

    public var waitingFor: Wait {
        switch phase {
        case .synSent: .handshake
        case .finWait1, .finWait2, .lastAck, .closing, .closed: .close
        case .established, .closeWait: !sent.segments.isEmpty ? .acknowledgment : !captured.isEmpty ? .answer : .client
        }
    }

    /// Whether `syn` is the SYN that started this session (a retransmission of it).
    public func isStartedBy(_ syn: TCPPacket) -> Bool { syn.sequence == writer.isn }

    /// Whether request bytes of an established session wait in the queue: held until the
    /// target answers the previous request (or its window opens). The event loop then handles
    /// the answer at once instead of sleeping out its batching window, so that a client sending
    /// request after request on one connection is copied at the target's pace, not one request
    /// per window. A request waiting for the handshake does not count: nearly every new
    /// session has one, and a handshake per window is the batching that saves the CPU.
    public var holdsRequestData: Bool { captured.readyBytes > 0 && phase.sendsClientData }

    /// Bytes held for this session (queued, out of order, in flight).
    public var bufferedBytes: Int { captured.queuedBytes + sent.segments.reduce(0) { $0 + $1.payload.count } }

    /// `bufferedBytes` without walking a list, cheap enough to read after every event.
    /// Inlined: called out of line, the session (hundreds of bytes) is copied to pass it.
    public var bufferedBytesEstimate: Int {
        @inline(__always) get { captured.queuedBytesEstimate + sent.bytesInFlight }
    }

    /// Data retransmissions this session made (for the daemon's counters).
    public var retransmissions: Int { sent.retransmissions }
}

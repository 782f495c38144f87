/// How an emulated session ended. Every session ends with exactly one, and each has a counter.
public enum SessionOutcome: String, CaseIterable, Sendable {
    /// Both sides closed with FIN, everything acknowledged.
    case completed
    /// The target answered with RST.
    case resetByTarget = "reset_by_target"
    /// The client reset its connection; we reset ours after the data before it was delivered.
    case clientReset = "client_reset"
    /// No packet from either side within the idle timeout.
    case timedOut = "timed_out"
    /// Idle between requests for longer than the keep-alive timeout.
    case keepAliveTimedOut = "keepalive_timed_out"
    /// The target stopped acknowledging (SYN or data retransmissions exhausted) or the session
    /// outgrew its queue limit.
    case gaveUp = "gave_up"
    /// Ended by us: shutdown, or the client reused the port for a new connection.
    case aborted
    /// The capture missed some of the client's bytes (a gap that never filled): the session
    /// could not go on; what came after the gap went on in a new session.
    case captureGap = "capture_gap"
    /// Shed because all sessions together held more client bytes than `-m` allows
    /// (`BufferBudget`) and this one held more than its share.
    case overBudget = "over_budget"
}

extension SessionOutcome {
    /// Whether the connection itself ended (FIN or RST), so that later data of it is late, as
    /// opposed to our giving up on a connection the client may still use.
    public var endedTheConnection: Bool {
        switch self {
        case .completed, .resetByTarget, .clientReset: true
        case .timedOut, .keepAliveTimedOut, .gaveUp, .aborted, .captureGap, .overBudget: false
        }
    }
}

/// What a session asks the caller to do, in order.
public enum SessionAction: Hashable, Sendable {
    /// Tell intercept to route this session's responses to us (before its SYN is sent).
    case register(RouteKey)
    /// Send this segment to the target.
    case send(OutgoingSegment)
    /// The session is over; forget it and its route.
    case finished(RouteKey, SessionOutcome)
    /// The target closed this connection but the client goes on using it: carry the client's
    /// stream on in a new connection to the target. `stream` is what was not sent yet, from
    /// `stream.sequence`; `timestamp` is the client's last TSval (nil without timestamps).
    case reopen(RouteKey, stream: ClientStream, timestamp: UInt32?)
}

/// Client data not yet sent to the target, handed from one session to the next.
public struct ClientStream: Hashable, Sendable {
    var segments: [PendingSegment]

    /// The sequence number of its first byte.
    public var sequence: SequenceNumber { segments.first?.sequence ?? SequenceNumber(0) }
    public var isEmpty: Bool { segments.isEmpty }
}

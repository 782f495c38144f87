/// What happened to every packet tcpcopy captured and every session it started. Each lost copy
/// shows up in exactly one of these.
public struct TCPCopyCounters: Sendable, Equatable {
    /// TCP packets the raw socket delivered.
    public var captured = 0
    /// Captured packets for ports we do not copy.
    public var otherPort = 0
    /// Captured packets we could not parse, by reason.
    public var malformed: [PacketDropReason: Int] = [:]
    /// Data packets of connections we have no session for (opened before we started, or whose
    /// copies could not start): requests the target never sees.
    public var noSession = 0
    /// Packets without data for no session: mostly the last ACKs of sessions already closed.
    public var strayControl = 0
    /// Data of connections that all ended lately (late retransmissions): ignored.
    public var lateData = 0
    public var sessionsStarted = 0
    /// Of those started, sessions opened with a made-up handshake (connections already open
    /// when tcpcopy started).
    public var sessionsSynthesized = 0
    /// Of those started, sessions that carry on a connection the target closed while the
    /// client kept using it.
    public var sessionsReopened = 0
    public var sessionsEnded: [SessionOutcome: Int] = [:]
    /// The sessions still live when tcpcopy stopped (counted in `sessions_aborted`), by what
    /// each was waiting for: a copy lost at the end of a run shows here why it was late.
    public var stoppedWaiting: [EmulatedSession.Wait: Int] = [:]
    /// New sessions refused because the table was at `--max-sessions`.
    public var tableFull = 0
    /// New sessions refused by the memory cap (`-m`, `SessionAdmission`). In the daemon's stats
    /// line as `memory_full`, beside the memory readings.
    public var memoryFull = 0
    /// Copies not started because every client port of their address was busy at the target.
    public var portCollisions = 0
    /// Copies that could not have their preferred port (busy) and took the next free one.
    public var portsRelocated = 0
    /// Copies of a client's new connection that took back their port from its old connection's
    /// TIME_WAIT at the target, as the client's TCP did at the online server.
    public var portsReclaimed = 0
    /// Copies not started because their target's intercept link was down (`linkDown`).
    public var sessionsWithoutLink = 0
    /// Segments not sent because their target's intercept link was down (a session's timer
    /// between the link's loss and its end); zero unless a session outlived its link.
    public var sendsWithoutLink = 0
    /// New connections not copied because of `-r`.
    public var sessionsSkippedByRate = 0
    /// Response headers received from intercept.
    public var responses = 0
    /// Response headers for no live session (late packets of a finished session).
    public var responsesUnmatched = 0
    public var retransmissions = 0
    /// Old connections the target still held on a copy's port (TIME_WAIT, left by an earlier
    /// copy), answered with a RST so that the new session could start.
    public var staleConnectionsReset = 0
    /// The target's RSTs of an older connection on a session's port (a client reused it while
    /// the target still held the old one), not taken as the end of the new session.
    public var strayResetsIgnored = 0
    /// Late target packets of finished sessions answered with a RST (our last packet was lost).
    public var lingerResets = 0

    public init() {}

    public var line: CounterLine {
        var line = CounterLine()
        line.add("captured", captured)
        line.add("other_port", otherPort)
        line.add("malformed", malformed.values.reduce(0, +))
        for reason in PacketDropReason.allCases where malformed[reason, default: 0] > 0 {
            line.add("malformed_\(reason.rawValue)", malformed[reason]!)
        }
        line.add("no_session", noSession)
        line.add("stray_control", strayControl)
        line.add("late_data", lateData)
        line.add("sessions_started", sessionsStarted)
        line.add("sessions_synthesized", sessionsSynthesized)
        line.add("sessions_reopened", sessionsReopened)
        for outcome in SessionOutcome.allCases {
            line.add("sessions_\(outcome.rawValue)", sessionsEnded[outcome, default: 0])
        }
        for wait in EmulatedSession.Wait.allCases {
            if let count = stoppedWaiting[wait], count > 0 { line.add("sessions_stopped_awaiting_\(wait.rawValue)", count) }
        }
        line.add("table_full", tableFull)
        line.add("port_collisions", portCollisions)
        line.add("ports_relocated", portsRelocated)
        line.add("ports_reclaimed", portsReclaimed)
        line.add("sessions_skipped_by_rate", sessionsSkippedByRate)
        line.add("sessions_without_link", sessionsWithoutLink)
        line.add("sends_without_link", sendsWithoutLink)
        line.add("responses", responses)
        line.add("responses_unmatched", responsesUnmatched)
        line.add("retransmissions", retransmissions)
        line.add("stale_connections_reset", staleConnectionsReset)
        line.add("linger_resets", lingerResets)
        line.add("stray_resets_ignored", strayResetsIgnored)
        return line
    }
}

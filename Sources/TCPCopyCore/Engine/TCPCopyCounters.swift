/// What happened to every packet tcpcopy captured and every session it started. Each lost copy
/// shows up in exactly one of these. Each field is explained once, in `metrics` (the stats
/// line's order, the metrics endpoint's help text).
public struct TCPCopyCounters: Sendable, Equatable, MetricSet {
    public var captured = 0
    public var otherPort = 0
    public var malformed: [PacketDropReason: Int] = [:]
    public var noSession = 0
    public var strayControl = 0
    public var lateData = 0
    public var sessionsStarted = 0
    public var sessionsSynthesized = 0
    public var sessionsReopened = 0
    public var sessionsEnded: [SessionOutcome: Int] = [:]
    public var stoppedWaiting: [EmulatedSession.Wait: Int] = [:]
    public var tableFull = 0
    /// In the daemon's part of the line (`memory_full`), beside the memory readings.
    public var memoryFull = 0
    public var portCollisions = 0
    public var portsRelocated = 0
    public var portsReclaimed = 0
    public var sessionsWithoutLink = 0
    public var sendsWithoutLink = 0
    public var sessionsSkippedByRate = 0
    public var responses = 0
    public var responsesUnmatched = 0
    public var retransmissions = 0
    public var staleConnectionsReset = 0
    public var strayResetsIgnored = 0
    public var lingerResets = 0

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .counter("captured", \.captured, "TCP packets the capture delivered"),
        .counter("other_port", \.otherPort, "Captured packets for ports tcpcopy does not copy"),
        .family(
            "malformed", \.malformed, label: "reason", total: "malformed", zeros: false,
            "Captured packets that could not be parsed"),
        .counter(
            "no_session", \.noSession,
            "Data packets of connections with no session (opened before tcpcopy started, or whose copy could not start): requests the target never sees"
        ),
        .counter(
            "stray_control", \.strayControl,
            "Packets without data for no session: mostly the last ACKs of finished sessions"),
        .counter(
            "late_data", \.lateData, "Data of connections that all ended lately (late retransmissions): ignored"),
        .counter("sessions_started", \.sessionsStarted, "Sessions started towards the targets"),
        .counter(
            "sessions_synthesized", \.sessionsSynthesized,
            "Sessions started with a made-up handshake (connections already open when tcpcopy started)"),
        .counter(
            "sessions_reopened", \.sessionsReopened,
            "Sessions that carry on a connection the target closed while the client kept using it"),
        .family("sessions", \.sessionsEnded, label: "outcome", zeros: true, "Sessions ended, by outcome"),
        .family(
            "sessions_stopped_awaiting", \.stoppedWaiting, label: "wait", zeros: false,
            "Sessions live when tcpcopy stopped (counted in sessions_aborted), by what each was waiting for"),
        .counter("table_full", \.tableFull, "New sessions refused because the table was at --max-sessions"),
        .counter(
            "port_collisions", \.portCollisions,
            "Copies not started because every client port of their address was busy at the target"),
        .counter(
            "ports_relocated", \.portsRelocated,
            "Copies whose preferred client port was busy at the target, moved to the next free one"),
        .counter(
            "ports_reclaimed", \.portsReclaimed,
            "Copies of a client's new connection that took their port back from the old connection's TIME_WAIT at the target"
        ),
        .counter("sessions_skipped_by_rate", \.sessionsSkippedByRate, "New connections not copied because of -r"),
        .counter(
            "sessions_without_link", \.sessionsWithoutLink,
            "Copies not started because their target's intercept link was down"),
        .counter(
            "sends_without_link", \.sendsWithoutLink,
            "Segments not sent because their target's intercept link was down (a session outlived its link)"),
        .counter("responses", \.responses, "Response headers received from intercept"),
        .counter(
            "responses_unmatched", \.responsesUnmatched,
            "Response headers for no live session (late packets of finished sessions)"),
        .counter("retransmissions", \.retransmissions, "Segments sent again to the target"),
        .counter(
            "stale_connections_reset", \.staleConnectionsReset,
            "Old connections the target still held on a copy's port (TIME_WAIT of an earlier copy), reset so that the new session could start"
        ),
        .counter(
            "linger_resets", \.lingerResets,
            "Late target packets of finished sessions answered with a RST (our last packet was lost)"),
        .counter(
            "stray_resets_ignored", \.strayResetsIgnored,
            "The target's RSTs of an older connection on a session's port, not taken as the end of the new session"),
    ]
}

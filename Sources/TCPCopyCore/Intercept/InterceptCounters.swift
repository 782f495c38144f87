/// What happened to every packet intercept was given and every control connection it served.
public struct InterceptCounters: Sendable, Equatable {
    /// Packets the kernel queued to us; each got exactly one verdict.
    public var queued = 0
    /// Verdict ACCEPT: addressed to an allow-listed host.
    public var accepted = 0
    /// Verdict DROP: every other packet.
    public var dropped = 0
    /// Dropped packets whose headers went to the tcpcopy that registered the session.
    public var forwarded = 0
    /// Pure ACKs not forwarded because a later packet of the same session in the same batch
    /// acknowledged as much, with more (`HeldAcks`).
    public var acksCoalesced = 0
    /// Dropped packets that could not be parsed as IPv4/TCP (nothing to forward).
    public var malformed = 0
    /// IPv6 packets accepted (allow-listed destination); also counted in `accepted`.
    public var ipv6Accepted = 0
    /// IPv6 packets dropped (also counted in `dropped`): their headers are not forwarded yet.
    public var ipv6Dropped = 0
    /// Dropped packets with no route: held for a late registration, then expired.
    public var held = 0
    public var heldDelivered = 0
    public var heldExpired = 0
    /// Dropped packets with no route and no room to hold them.
    public var unrouted = 0
    /// Headers not sent because the owner's output buffer was full (a slow tcpcopy).
    public var backlogDropped = 0
    public var registrations = 0
    /// A second tcpcopy registered a session another one owns (logged, first kept).
    public var duplicateRegistrations = 0
    public var routesExpired = 0
    /// Registrations refused because a route cap was reached (answered with `refused`).
    public var registrationsOverCap = 0
    /// Handshakes refused for a wrong or missing shared-secret proof.
    public var secretRefused = 0
    /// Connections dropped for not completing the handshake in time.
    public var handshakeTimeouts = 0
    public var connectionsAccepted = 0
    /// Connections closed for a protocol error (corrupt stream, bad version).
    public var connectionsRejected = 0
    /// Connections refused because the peer is not allowed (`--tcpcopy-allow`), or because
    /// too many are open.
    public var connectionsRefused = 0
    /// Connections dropped because the peer fell silent (no hello, no heartbeat).
    public var connectionsTimedOut = 0
    /// Connections dropped because the peer did not read: its output buffer reached the cap.
    public var connectionsOverflowed = 0

    public init() {}

    public var line: CounterLine {
        var line = CounterLine()
        line.add("queued", queued)
        line.add("accepted", accepted)
        line.add("dropped", dropped)
        line.add("forwarded", forwarded)
        line.add("malformed", malformed)
        line.add("held", held)
        line.add("held_delivered", heldDelivered)
        line.add("held_expired", heldExpired)
        line.add("unrouted", unrouted)
        line.add("backlog_dropped", backlogDropped)
        line.add("registrations", registrations)
        line.add("duplicate_registrations", duplicateRegistrations)
        line.add("routes_expired", routesExpired)
        line.add("registrations_over_cap", registrationsOverCap)
        line.add("secret_refused", secretRefused)
        line.add("handshake_timeouts", handshakeTimeouts)
        line.add("connections", connectionsAccepted)
        line.add("connections_rejected", connectionsRejected)
        line.add("connections_refused", connectionsRefused)
        line.add("connections_timed_out", connectionsTimedOut)
        line.add("connections_overflowed", connectionsOverflowed)
        line.add("acks_coalesced", acksCoalesced)
        line.add("ipv6_accepted", ipv6Accepted)
        line.add("ipv6_dropped", ipv6Dropped)
        return line
    }
}

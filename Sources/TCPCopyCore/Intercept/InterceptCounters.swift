/// What happened to every packet intercept was given and every control connection it served.
/// Each field is explained once, in `metrics` (the stats line's order, the metrics endpoint's
/// help text).
public struct InterceptCounters: Sendable, Equatable, MetricSet {
    public var queued = 0
    public var accepted = 0
    public var dropped = 0
    public var forwarded = 0
    public var acksCoalesced = 0
    public var malformed = 0
    public var ipv6Accepted = 0
    public var ipv6Dropped = 0
    public var held = 0
    public var heldDelivered = 0
    public var heldExpired = 0
    public var unrouted = 0
    public var backlogDropped = 0
    public var registrations = 0
    public var duplicateRegistrations = 0
    public var routesExpired = 0
    public var registrationsOverCap = 0
    public var secretRefused = 0
    public var handshakeTimeouts = 0
    public var connectionsAccepted = 0
    public var connectionsRejected = 0
    public var connectionsRefused = 0
    public var connectionsTimedOut = 0
    public var connectionsOverflowed = 0

    public init() {}

    mutating func countAccepted(ipv6: Bool) {
        accepted += 1
        if ipv6 { ipv6Accepted += 1 }
    }

    mutating func countDropped(ipv6: Bool) {
        dropped += 1
        if ipv6 { ipv6Dropped += 1 }
    }

    public static let metrics: [MetricDeclaration<Self>] = [
        .counter("queued", \.queued, "Packets the kernel queued to intercept; each got exactly one verdict"),
        .counter("accepted", \.accepted, "Verdict ACCEPT: addressed to an allow-listed host"),
        .counter("dropped", \.dropped, "Verdict DROP: every other packet"),
        .counter(
            "forwarded", \.forwarded, "Dropped packets whose headers went to the tcpcopy that registered the session"),
        .counter("malformed", \.malformed, "Dropped packets that could not be parsed as IPv4/TCP"),
        .counter("held", \.held, "Dropped packets with no route yet, held for a late registration"),
        .counter("held_delivered", \.heldDelivered, "Held packets delivered once their session was registered"),
        .counter("held_expired", \.heldExpired, "Held packets whose registration never came"),
        .counter("unrouted", \.unrouted, "Dropped packets with no route and no room to hold them"),
        .counter(
            "backlog_dropped", \.backlogDropped,
            "Headers not sent because the owner's output buffer was full (a slow tcpcopy)"),
        .counter("registrations", \.registrations, "Sessions registered by tcpcopy"),
        .counter(
            "duplicate_registrations", \.duplicateRegistrations,
            "Sessions a second tcpcopy registered while another owned them (the first keeps them)"),
        .counter("routes_expired", \.routesExpired, "Routes idle past --route-timeout"),
        .counter(
            "registrations_over_cap", \.registrationsOverCap,
            "Registrations refused because a route cap was reached (answered with refused)"),
        .counter("secret_refused", \.secretRefused, "Handshakes refused for a wrong or missing shared-secret proof"),
        .counter(
            "handshake_timeouts", \.handshakeTimeouts, "Connections dropped for not completing the handshake in time"),
        .counter("connections", \.connectionsAccepted, "Control connections accepted"),
        .counter(
            "connections_rejected", \.connectionsRejected,
            "Control connections closed for a protocol error (garbage, wrong version, oversized frame)"),
        .counter(
            "connections_refused", \.connectionsRefused,
            "Control connections refused: not allowed by --tcpcopy-allow, or too many open"),
        .counter(
            "connections_timed_out", \.connectionsTimedOut,
            "Control connections dropped because the peer fell silent (no hello, no heartbeat)"),
        .counter(
            "connections_overflowed", \.connectionsOverflowed,
            "Control connections dropped because the peer stopped reading until its output buffer was full"),
        .counter(
            "acks_coalesced", \.acksCoalesced,
            "Bare ACKs not forwarded because a later packet of their session in the same batch carried them"),
        .counter("ipv6_accepted", \.ipv6Accepted, "IPv6 packets accepted (allow-listed destination); also in accepted"),
        .counter(
            "ipv6_dropped", \.ipv6Dropped, "IPv6 packets dropped (also in dropped): held from their destination, headers forwarded or not"
        ),
    ]
}

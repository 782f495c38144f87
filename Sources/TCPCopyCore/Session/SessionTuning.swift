/// Timing and size limits of the session emulation. Defaults suit a target on a LAN; the
/// daemon derives the idle timeout and MTU from its command line.
public struct SessionTuning: Sendable, Equatable {
    /// Wait before the first SYN retransmission (doubled after each, as TCP does), and how many
    /// retransmissions before giving up.
    public var synRetransmitMilliseconds: Int64 = 1000
    public var maximumSynRetransmits = 5
    /// Retransmission timeout before any round trip was measured (RFC 6298: one second), its
    /// floor once measured (Linux uses 200 ms) and its ceiling; doubled after each retransmission.
    public var initialRetransmitMilliseconds: Int64 = 1000
    public var minimumRetransmitMilliseconds: Int64 = 200
    public var maximumRetransmitMilliseconds: Int64 = 5000
    public var maximumRetransmits = 10
    /// How long our acknowledgment of the target's data may wait for a segment of ours to carry
    /// it (the client's next request, its FIN) before it goes as a bare ACK. 40 ms is Linux's
    /// delayed-ACK floor: a client's TCP waits at least that long, so the target is used to it.
    /// Two full segments unacknowledged, a repeated segment, or the target's FIN after ours are
    /// acknowledged at once whatever this says.
    public var delayedAckMilliseconds: Int64 = 40
    /// A held request is released once the target has answered something and then been quiet
    /// for two round trips (its answer may be shorter than the online server's); this caps that
    /// quiet time when round trips are long.
    public var responseQuietMilliseconds: Int64 = 300
    /// A held request is released when the target has acknowledged everything yet answered
    /// nothing for this long: some servers never send what the online one did (an interim
    /// "100 Continue", say); curl, for one, sends the body after 1 s without it.
    public var silentTargetMilliseconds: Int64 = 1000
    /// A held request is released after this long whatever the target did.
    public var responseWaitMilliseconds: Int64 = 10_000
    /// A session with no packet from either side for this long is released (`-t`).
    public var idleTimeoutMilliseconds: Int64 = 120_000
    /// A keep-alive session idle between requests (nothing queued or unacknowledged) for this
    /// long is released (`-k`); nil leaves it to the idle timeout. If the client comes back, its
    /// next request opens a new session.
    public var keepAliveTimeoutMilliseconds: Int64?
    /// After our FIN was acked, how long the target may keep its side open before we reset it
    /// (some servers never close a half-closed connection).
    public var finWait2Milliseconds: Int64 = 5000
    /// Largest IP packet sent to the target (`-M`).
    public var mtu = 1500
    /// A gap in the captured stream (the capture dropped a client segment, under load) that has
    /// not filled after this long never will: the stream after it moves to a new session.
    public var captureGapMilliseconds: Int64 = 2000
    /// Out-of-order segments kept per session while waiting for a gap to fill.
    public var maximumOutOfOrderSegments = 256
    /// Unsent bytes queued per session; beyond it the session gives up rather than grow.
    public var maximumQueuedBytes = 16 << 20
    /// Bytes sent and not acknowledged yet per session, however large the target's window: a
    /// target that stops reading would otherwise hold a full window of ours per session
    /// (megabytes with window scaling). Enough for a full-speed copy on a LAN.
    public var maximumInFlightBytes = 1 << 20

    public init() {}

    /// The tuning a tcpcopy command line asks for.
    public init(configuration: TCPCopyConfiguration) {
        idleTimeoutMilliseconds = Int64(configuration.sessionTimeout) * 1000
        keepAliveTimeoutMilliseconds = configuration.keepAliveTimeout.map { Int64($0) * 1000 }
        mtu = configuration.mtu
    }
}

extension SessionTuning {
    /// One tuning that every session of an engine refers to: a session holding its own copy
    /// would carry its 152 bytes into every live slot of the `SessionTable`.
    public final class Shared: Sendable {
        public let value: SessionTuning

        public init(_ value: SessionTuning) { self.value = value }
    }
}

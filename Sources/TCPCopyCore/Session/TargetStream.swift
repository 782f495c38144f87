/// The target's side of the connection as the client we play sees it: how far its stream has
/// come (what our ACKs say), the acknowledgment we owe it, its timestamps, and what it takes
/// from us (window, segment size). Learned from its SYN-ACK, then kept up by its segments.
struct TargetStream: Sendable {
    /// The next sequence number expected from the target: every segment of ours acknowledges it.
    private(set) var next = SequenceNumber(0)
    /// The target's latest TSval, which ours echo.
    private(set) var timestamp: UInt32 = 0
    /// Both SYNs carried timestamps, so every segment of ours does.
    private(set) var timestampsEnabled = false
    private var windowScale: UInt8 = 0
    /// How many bytes the target takes beyond what it acknowledged.
    private(set) var window = 65535
    /// The largest payload a segment of ours may carry.
    private(set) var maximumPayload = 536
    /// The payload of a full-sized segment from the target: bounded by the MSS our SYN announced
    /// and by the target's own (its MTU), less the timestamp option.
    private var segmentSize = 536
    /// Our acknowledgment of the target's stream, when no segment has carried it yet.
    var delayedAck = DelayedAck()

    /// The target's SYN-ACK answering our SYN (`synOptions`); `mtu` bounds the packets we send.
    mutating func learn(from synAck: TCPPacket, synOptions: TCPOptions, mtu: Int) {
        next = synAck.sequence + 1
        timestampsEnabled = synOptions.timestamp != nil && synAck.options.timestamp != nil
        timestamp = synAck.options.timestamp?.value ?? 0
        if synOptions.windowScale != nil, let scale = synAck.options.windowScale {
            windowScale = min(scale, 14)
        }
        window = Int(synAck.window)  // a SYN's window is never scaled
        let mss = Int(synAck.options.maximumSegmentSize ?? 536)
        // The MSS counts payload only when no options are sent: our options come out of it
        // (RFC 6691), as they come out of the MTU.
        maximumPayload = max(1, max(1, min(mss, mtu - 40)) - (timestampsEnabled ? 12 : 0))
        // Not capped by our MTU (`-M`): it limits what we send, not what the target sends us.
        let ourMSS = Int(synOptions.maximumSegmentSize ?? 536)
        segmentSize = max(1, min(mss, ourMSS) - (timestampsEnabled ? 12 : 0))
    }

    /// A segment from the target after the handshake: its timestamp and, with an ACK, its window.
    mutating func update(from header: TCPPacket) {
        if let ts = header.options.timestamp?.value { timestamp = ts }
        if header.flags.contains(.ack) { window = Int(header.window) << windowScale }
    }

    /// The target's data or FIN in `header`; `afterOurFin`: ours was sent. Returns how much new
    /// sequence space it brought (0: it resent what we had).
    ///
    /// Our ACK goes at once rather than delayed when nothing is new (the target resent it: our
    /// ACK was probably lost), when two full segments are unacknowledged (they hold back its
    /// sending, RFC 5681 4.2), or for its FIN after ours (the session ends, nothing of ours
    /// follows to carry the ACK).
    mutating func received(_ header: TCPPacket, afterOurFin: Bool, now: MonotonicTime, delay: Int64) -> Int {
        let isFin = header.flags.contains(.fin)
        let end = header.sequence + header.payloadLength + (isFin ? 1 : 0)
        let isNew = end > next
        let count = isNew ? end - next : 0
        if isNew {
            delayedAck.received(count, now: now, delay: delay)
            next = end
        }
        if !isNew || delayedAck.unacknowledgedBytes >= 2 * segmentSize || (isFin && afterOurFin) {
            delayedAck.makeDue(now: now)
        }
        return count
    }

    /// Whether a RST with this sequence number is where the target's stream is: at or a little
    /// past what we have seen of it, in case intercept missed a segment.
    func admitsReset(at sequence: SequenceNumber) -> Bool {
        let offset = sequence - next
        return offset >= 0 && offset < Self.resetWindow
    }

    /// How far past what we have seen of the target's stream a RST may start: 1 MiB, far more
    /// than a target sends unseen, while a stranger's sequence number lands in it once in 4,096.
    private static let resetWindow = 1 << 20
}

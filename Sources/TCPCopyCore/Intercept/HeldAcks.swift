/// The target's pure ACKs that intercept holds back until the end of a batch of queued packets,
/// in case a later packet of the same session in the batch carries the same news further.
///
/// A short HTTP session has the target send five packets: SYN-ACK, the ACK of the request,
/// the response, its FIN, the ACK of ours. The ACK of the request is sent the moment the request
/// arrives (a new connection acknowledges at once) and the response right after it, so the two
/// often reach intercept together; the response acknowledges the same bytes. Forwarding only
/// the response spares tcpcopy one of such a session's five control messages, and intercept one
/// write. How often the two share a batch depends on the load (docs/performance-history.md).
///
/// A later packet supersedes a held ACK when it acknowledges more, or the same with data or a
/// FIN (that is news the ACK does not have). One that acknowledges the same without either, a
/// duplicate ACK, does not: tcpcopy counts duplicates to retransmit early. Nor does a SYN or RST.
/// A held ACK that is not superseded goes out before the next packet of its session, or at the
/// end of the batch: a session's packets reach tcpcopy in the order the target sent them.
struct HeldAcks<Connection: Hashable & Sendable>: Sendable {
    private struct Entry: Sendable {
        var key: RouteKey
        var connection: Connection
        var headers: HeaderBytes
        var acknowledgment: SequenceNumber
        /// Sent before a later packet of its session, or superseded: nothing left to do.
        var settled = false
    }

    private var entries: [Entry] = []
    /// Never 0, the number of a route that holds nothing.
    private var batch: UInt32 = 1

    /// Whether intercept holds `packet` back: a bare ACK.
    static func isPureAck(_ packet: TCPPacket) -> Bool {
        packet.flags.contains(.ack) && packet.payloadLength == 0
            && !packet.flags.contains(.syn) && !packet.flags.contains(.fin) && !packet.flags.contains(.rst)
    }

    /// Whether `later`, of the same session, makes a held ACK of `acknowledgment` redundant.
    static func supersedes(_ later: TCPPacket, heldAcknowledgment acknowledgment: SequenceNumber) -> Bool {
        guard later.flags.contains(.ack), !later.flags.contains(.syn), !later.flags.contains(.rst) else {
            return false
        }
        if later.acknowledgment > acknowledgment { return true }
        return later.acknowledgment == acknowledgment && (later.payloadLength > 0 || later.flags.contains(.fin))
    }

    /// The mark a route gets for the ACK `hold` is about to keep.
    var nextMark: HeldAckMark { HeldAckMark(batch: batch, index: Int32(entries.count)) }

    /// Settles the ACK a route's `mark` names, if it is of this batch, of `key` and still
    /// waiting, against `later`, the next packet of its session: nil when there is none or
    /// `later` supersedes it (counted in `superseded`), else its headers, which the caller
    /// must send before `later`.
    mutating func settle(
        _ mark: HeldAckMark, key: RouteKey, by later: TCPPacket, superseded: inout Int
    ) -> HeaderBytes? {
        let index = Int(mark.index)
        guard mark.batch == batch, index < entries.count, entries[index].key == key, !entries[index].settled
        else { return nil }
        entries[index].settled = true
        if Self.supersedes(later, heldAcknowledgment: entries[index].acknowledgment) {
            superseded += 1
            return nil
        }
        return entries[index].headers
    }

    /// Keeps the headers of a pure ACK of `key` for `connection` (at `nextMark`).
    mutating func hold(
        _ headers: HeaderBytes, acknowledgment: SequenceNumber, key: RouteKey, for connection: Connection
    ) {
        entries.append(Entry(key: key, connection: connection, headers: headers, acknowledgment: acknowledgment))
    }

    /// Hands every ACK still held to `send`, in the order they came, and starts the next batch.
    mutating func release(_ send: (Connection, HeaderBytes) -> Void) {
        for entry in entries where !entry.settled { send(entry.connection, entry.headers) }
        entries.removeAll(keepingCapacity: true)
        batch = batch == UInt32.max ? 1 : batch + 1
    }

    var isEmpty: Bool { entries.isEmpty }
}

/// A route's note of the pure ACK of it that intercept holds back in the present batch: the
/// batch's number and the ACK's place among the held ones. A note of another batch is stale.
struct HeldAckMark: Sendable {
    var batch: UInt32 = 0
    var index: Int32 = 0
}

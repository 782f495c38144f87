/// The verdict messages for one batch of queued packets, in the order the kernel must see them.
///
/// NFQUEUE has two verdict messages: one for a single packet id, and a batch verdict that applies
/// to every packet still queued with an id up to the one given. intercept drops almost every
/// packet, so a run of drops becomes one batch verdict, and each ACCEPT keeps its own message.
/// The commands come out in arrival (id) order: an ACCEPT leaves the queue before a later batch
/// verdict could reach it, so nothing is ever accepted or dropped by mistake.
///
/// Packet ids are a per-queue 32-bit counter. When the ids of a batch do not strictly increase
/// (the counter wrapped past `UInt32.max`, or the kernel handed them out of order), no batch
/// verdict is used for it: each drop gets its own message, so that a batch never reaches across
/// the wrap. The kernel compares ids wrap-aware (`nfq_id_after` in nfnetlink_queue.c), so this is
/// a guard rather than a fix; it costs a few single verdicts once every 2^32 packets.
public struct VerdictPlan: Sendable {
    /// One verdict message.
    public enum Command: Hashable, Sendable {
        /// DROP for every packet still queued with an id up to and including this one.
        case dropThrough(UInt32)
        /// DROP for this packet only.
        case drop(UInt32)
        /// ACCEPT for this packet only.
        case accept(UInt32)
    }

    private struct Decision {
        var id: UInt32
        var accept: Bool
    }

    private var decisions: [Decision] = []
    /// Whether every id added so far is greater than the one before it.
    private var increasing = true
    /// The commands for the packets added, once `finish()` has run.
    public private(set) var commands: [Command] = []

    public init() {}

    /// Packets added since the last `reset()`.
    public var count: Int { decisions.count }

    /// Records the verdict of the next packet, in the order the kernel queued them.
    public mutating func add(id: UInt32, accept: Bool) {
        if let last = decisions.last, id <= last.id { increasing = false }
        decisions.append(Decision(id: id, accept: accept))
    }

    /// Turns the packets added into `commands`.
    public mutating func finish() {
        commands.removeAll(keepingCapacity: true)
        var start = 0
        while start < decisions.count {
            if decisions[start].accept {
                commands.append(.accept(decisions[start].id))
                start += 1
                continue
            }
            var end = start
            while end + 1 < decisions.count && !decisions[end + 1].accept { end += 1 }
            if end > start && increasing {
                commands.append(.dropThrough(decisions[end].id))
            } else {
                for index in start...end { commands.append(.drop(decisions[index].id)) }
            }
            start = end + 1
        }
    }

    /// Forgets the batch, keeping the storage for the next one.
    public mutating func reset() {
        decisions.removeAll(keepingCapacity: true)
        commands.removeAll(keepingCapacity: true)
        increasing = true
    }
}

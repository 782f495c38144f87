import CMNL
import CTCPCopyShims
import Glibc
import TCPCopyCore

/// One NFQUEUE queue, read through libmnl with libnetfilter_queue's netlink-message helpers.
/// Only the first `copyRange` bytes of each packet are copied to us: the headers, never the
/// payload. The kernel sends each queued packet as a datagram of its own; they are read many at
/// a time with recvmmsg, and the verdicts for each batch go back in one netlink write, a run of
/// drops as one batch verdict (`VerdictPlan`).
final class NetfilterQueue {
    /// IPv4 header (at most 60 bytes) and TCP header (at most 60 bytes).
    static let headerCopyRange: UInt32 = 120
    /// With `copiesPayload` (intercept `--compare`): whole packets. The kernel segments GSO
    /// packets before queueing them (no NFQA_CFG_F_GSO), so a packet is at most the MTU.
    static let packetCopyRange: UInt32 = 65_535
    /// Datagrams read by one recvmmsg.
    static let receiveSlots = 64
    /// Room for one datagram. A packet message is about 100 bytes of netlink header and
    /// attributes plus the copied bytes; the rest is room for attributes a kernel may add. A
    /// longer datagram is cut by the kernel (MSG_TRUNC), counted as malformed, and its packet
    /// dropped.
    static let headerSlotBytes = 2048
    let slotBytes: Int
    /// Room for the verdict messages of one batch (32 bytes each); a batch that needs more is
    /// sent in several writes, in order.
    static let verdictBytes = 1 << 14

    private let socket: OpaquePointer
    let queue: UInt16
    let fileDescriptor: Int32
    // Fixed buffers behind constant pointers: the per-packet loop reads them without the
    // exclusivity checks and uniqueness checks an array property would cost.
    private let slots: UnsafeMutableRawPointer
    private let receiver: OpaquePointer
    private let lengths: UnsafeMutablePointer<UInt32>
    private let flags: UnsafeMutablePointer<UInt8>
    private let verdicts: UnsafeMutableRawPointer
    /// Kept between batches for its storage only.
    private var plan = VerdictPlan()
    /// Netlink receive overruns (ENOBUFS): the kernel dropped queued packets it could not give
    /// us, which is fail-closed but a lost copy.
    private(set) var overruns = 0
    /// Verdict writes given up after a transient error, by errno name (`write`).
    private(set) var verdictWriteErrors: [String: Int] = [:]
    /// Error messages the kernel sent back (a verdict for an unknown packet id, for one).
    private(set) var netlinkErrors = 0
    /// Netlink messages we could not use: malformed, cut short (MSG_TRUNC), or not sent by the
    /// kernel. A packet whose id could still be read was dropped.
    private(set) var malformedMessages = 0

    init(
        queue: UInt16, maximumLength: UInt32, receiveBufferBytes: Int32, copiesPayload: Bool = false
    ) throws(SystemCallError) {
        var step: UnsafePointer<CChar>? = nil
        slotBytes = copiesPayload ? Int(Self.packetCopyRange) + Self.headerSlotBytes : Self.headerSlotBytes
        let copyRange = copiesPayload ? Self.packetCopyRange : Self.headerCopyRange
        guard let handle = CTCPCopyShims_nfq_open(queue, copyRange, maximumLength, &step) else {
            throw SystemCallError(step.map { String(cString: $0) } ?? "nfq_open", errno: errno)
        }
        socket = handle
        self.queue = queue
        fileDescriptor = mnl_socket_get_fd(handle)
        slots = .allocate(byteCount: Self.receiveSlots * slotBytes, alignment: 16)
        guard let receiver = CTCPCopyShims_nfq_receiver_create(slots, slotBytes, Int32(Self.receiveSlots)) else {
            fatalError("out of memory for the NFQUEUE receive buffers")
        }
        self.receiver = receiver
        lengths = .allocate(capacity: Self.receiveSlots)
        flags = .allocate(capacity: Self.receiveSlots)
        verdicts = .allocate(byteCount: Self.verdictBytes, alignment: 16)
        // From here on a throw releases everything through deinit.
        try setNonBlocking(fileDescriptor)
        try? setReceiveBuffer(fileDescriptor, bytes: receiveBufferBytes)
    }

    deinit {
        mnl_socket_close(socket)
        CTCPCopyShims_nfq_receiver_free(receiver)
        slots.deallocate()
        lengths.deallocate()
        flags.deallocate()
        verdicts.deallocate()
    }

    /// Reads up to `maximumBatches` batches of queued packets and calls `decide` for each packet
    /// with its first bytes; `decide` returns true to ACCEPT, false to DROP. Every packet seen
    /// gets its verdict before this returns; one whose message cannot be read is dropped when
    /// its id can be read, and otherwise left to the next batch verdict or, at the latest, to the
    /// kernel, which drops what is still queued when the queue is closed. Nothing is accepted
    /// that `decide` did not accept. Returns true when it stopped after `maximumBatches` full
    /// batches: more packets are probably queued.
    func process(maximumBatches: Int, _ decide: (UnsafeRawBufferPointer) -> Bool) throws(SystemCallError) -> Bool {
        // Hot state in locals, written back once: this loop runs for every packet, and every
        // access to a class property goes through `self` (and, in debug builds, a run-time
        // exclusivity check; release builds leave those out, see Package.swift).
        var plan = VerdictPlan()
        swap(&plan, &self.plan)
        var overruns = 0
        var netlinkErrors = 0
        var malformed = 0
        defer {
            swap(&plan, &self.plan)
            self.overruns += overruns
            self.netlinkErrors += netlinkErrors
            malformedMessages += malformed
        }
        for _ in 0..<maximumBatches {
            let result: IOResult<Int>
            do {
                result = try nonBlocking("recvmmsg(NFQUEUE)") {
                    Int(CTCPCopyShims_nfq_receive(receiver, fileDescriptor, lengths, flags))
                }
            } catch {
                guard error.errno == ENOBUFS else { throw error }
                overruns += 1
                continue
            }
            guard case .done(let received) = result else { return false }
            plan.reset()
            for slot in 0..<received {
                let slotFlags = Int(flags[slot])
                if slotFlags & CTCPCopyShims_nfq_foreign != 0 {
                    malformed += 1
                    continue
                }
                // A cut datagram counts once, however its walk ends.
                let truncated = slotFlags & CTCPCopyShims_nfq_truncated != 0
                if truncated { malformed += 1 }
                let datagram = slots + slot * slotBytes
                let length = min(Int(lengths[slot]), slotBytes)
                var offset = 0
                var packet = CTCPCopyShims_nfq_packet()
                walk: while true {
                    switch Int(CTCPCopyShims_nfq_next_packet(datagram, length, &offset, &packet)) {
                    case CTCPCopyShims_nfq_found where !truncated:
                        let bytes = UnsafeRawBufferPointer(start: packet.payload, count: Int(packet.payload_len))
                        plan.add(id: packet.packet_id, accept: decide(bytes))
                    case CTCPCopyShims_nfq_found, CTCPCopyShims_nfq_unreadable:
                        if !truncated { malformed += 1 }
                        plan.add(id: packet.packet_id, accept: false)
                    case CTCPCopyShims_nfq_error:
                        // An error report for an earlier verdict: count it, keep reading.
                        netlinkErrors += 1
                    case CTCPCopyShims_nfq_malformed:
                        if !truncated { malformed += 1 }
                    default:
                        break walk
                    }
                }
            }
            plan.finish()
            try send(plan.commands)
            // Fewer than asked for: the socket is empty, and one more call would only say so.
            if received < Self.receiveSlots { return false }
        }
        return true
    }

    /// Sends the verdict messages in order, in as few netlink writes as they fit.
    private func send(_ commands: [VerdictPlan.Command]) throws(SystemCallError) {
        var used = 0
        for command in commands {
            if !put(command, used: &used) {
                try write(used)
                used = 0
                _ = put(command, used: &used)  // always fits an empty buffer
            }
        }
        try write(used)
    }

    private func put(_ command: VerdictPlan.Command, used: inout Int) -> Bool {
        let capacity = Self.verdictBytes
        switch command {
        case .accept(let id):
            return CTCPCopyShims_nfq_put_verdict(verdicts, capacity, &used, queue, id, 1) == 0
        case .drop(let id):
            return CTCPCopyShims_nfq_put_verdict(verdicts, capacity, &used, queue, id, 0) == 0
        case .dropThrough(let id):
            return CTCPCopyShims_nfq_put_drop_through(verdicts, capacity, &used, queue, id) == 0
        }
    }

    /// A verdict write the kernel refused for lack of memory (ENOBUFS, ENOMEM) is tried once
    /// more, then counted (`verdictWriteErrors`) and given up: its packets stay queued until the
    /// next drop-through verdict covers them or the queue closes, dropped either way (fail
    /// closed), and intercept goes on. Any other error is thrown.
    private func write(_ count: Int) throws(SystemCallError) {
        guard count > 0 else { return }
        let socket = socket
        let verdicts = verdicts
        var retried = false
        while true {
            do {
                try systemCall("mnl_socket_sendto(verdicts)") { mnl_socket_sendto(socket, verdicts, count) }
                return
            } catch {
                guard error.errno == ENOBUFS || error.errno == ENOMEM else { throw error }
                if !retried {
                    retried = true
                    continue
                }
                verdictWriteErrors[error.errnoName, default: 0] += 1
                return
            }
        }
    }
}

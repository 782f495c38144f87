import CTCPCopyShims
import Glibc
import TCPCopyCore

/// Memory the C allocator would not give.
struct AllocationError: Error, CustomStringConvertible {
    let what: String
    let bytes: Int

    var description: String { "cannot allocate \(what) (\(bytes) bytes): memory is short" }
}

/// The capture side of tcpcopy: an AF_INET raw socket for TCP, which the kernel hands a copy
/// of every TCP packet delivered to this host (inbound only), IP header included. A BPF filter
/// (`CaptureFilter`) keeps only the routes' ports, and packets are read many per system call
/// (recvmmsg).
final class RawCaptureSocket {
    /// Packets read per recvmmsg.
    static let batchSlots: Int32 = 64
    /// Large enough for a GRO super-packet (IP total length is at most 65535). The slots are
    /// malloc'd and never cleared, so only the pages packets were written into are resident.
    static let slotBytes = 65536

    let descriptor: FileDescriptor
    private let batch: OpaquePointer
    /// Packets the kernel dropped because the receive buffer was full (SO_RXQ_OVFL): copies
    /// lost before tcpcopy saw them.
    private(set) var droppedByKernel: UInt32 = 0
    /// Packets longer than a slot (cannot happen for IPv4; counted, never half-read).
    private(set) var truncated = 0
    /// Whether the kernel filters by port; false when `CaptureFilter` gave no program or the
    /// kernel refused it (tcpcopy then sees, and skips, everything).
    private(set) var filtered = false

    /// Throws a `SystemCallError`, or an `AllocationError` when the batch's slots cannot be had.
    init(receiveBufferBytes: Int32, filter: CaptureFilter?) throws {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)") {
                socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_TCP))
            })
        guard let batch = CTCPCopyShims_receive_batch_create(Self.batchSlots, Self.slotBytes) else {
            throw AllocationError(what: "the capture batch", bytes: Int(Self.batchSlots) * Self.slotBytes)
        }
        self.batch = batch
        try setNonBlocking(descriptor.rawValue)
        try setReceiveBuffer(descriptor.rawValue, bytes: receiveBufferBytes)
        // Best effort: without it the drops are merely not counted.
        _ = CTCPCopyShims_enable_drop_count(descriptor.rawValue)
        if let filter {
            let packed = filter.instructions.map(\.packed)
            filtered = CTCPCopyShims_attach_filter(descriptor.rawValue, packed, Int32(packed.count)) == 0
        }
    }

    deinit { CTCPCopyShims_receive_batch_destroy(batch) }

    /// Reads up to about `limit` packets, calling `body` with each (the bytes are valid only
    /// during the call); stops early when none is left. Returns true when it stopped at the
    /// limit with the last batch full: more packets are probably waiting.
    func receive(limit: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws(SystemCallError) -> Bool {
        var handled = 0
        while handled < limit {
            let result = try nonBlocking("recvmmsg(raw)") {
                Int(CTCPCopyShims_receive_batch_read(batch, descriptor.rawValue, &droppedByKernel))
            }
            guard case .done(let count) = result, count > 0 else { return false }
            for index in 0..<Int32(count) {
                var length = 0
                var cut: Int32 = 0
                let start = CTCPCopyShims_receive_batch_packet(batch, index, &length, &cut)
                if cut != 0 {
                    truncated += 1
                    continue
                }
                body(UnsafeRawBufferPointer(start: start, count: length))
            }
            handled += count
            if count < Int(Self.batchSlots) { return false }
        }
        return true
    }
}

/// The sending side of tcpcopy: a raw socket whose packets carry our own IP header
/// (IPPROTO_RAW implies IP_HDRINCL), so the target sees the real client's address. Packets are
/// queued in a `PacketBatch` and sent up to 64 per system call (sendmmsg).
final class RawSendSocket {
    /// Packets per sendmmsg (the shim's limit).
    static let batchLimit = 64

    let descriptor: FileDescriptor
    private var batch = PacketBatch(limit: batchLimit)
    /// Each queued packet's destination (host order), index for index with `batch`.
    private var destinations: [UInt32] = []

    init(sendBufferBytes: Int32) throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)") {
                socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
            })
        try setSocketOption(descriptor.rawValue, Int32(IPPROTO_IP), IP_HDRINCL, 1, "IP_HDRINCL")
        try setNonBlocking(descriptor.rawValue)
        try setSendBuffer(descriptor.rawValue, bytes: sendBufferBytes)
        destinations.reserveCapacity(Self.batchLimit)
    }

    /// IPv6 segments queued here since the last flush (refused at the flush; the daemon sends
    /// them through `RawIPv6Sink`).
    private var misaddressed = 0

    /// Packets queued and not sent yet.
    var queuedCount: Int { batch.count + misaddressed }

    /// Encodes `segment` at the end of the queue.
    func queue(_ segment: OutgoingSegment) {
        guard case .v4(let destination) = segment.destination else {
            misaddressed += 1
            return
        }
        batch.append(segment)
        destinations.append(destination.value)
    }

    /// Sends every queued packet and returns how many went out; each packet the kernel refuses
    /// is reported to `refused` and skipped (`PacketBatch.send`).
    func flush(refused: (SendRefusal) -> Void) -> Int {
        for _ in 0..<misaddressed { refused(.failed(SystemCallError("sendmmsg(raw)", errno: EAFNOSUPPORT))) }
        misaddressed = 0
        let fd = descriptor.rawValue
        let sent = destinations.withUnsafeBufferPointer { destinations in
            batch.send(call: "sendmmsg(raw)", refused: refused) { base, offsets, lengths, first, count in
                CTCPCopyShims_send_batch(fd, base, offsets, lengths, destinations.baseAddress! + first, count)
            }
        }
        destinations.removeAll(keepingCapacity: true)
        return sent
    }
}

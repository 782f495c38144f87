import CTCPCopyShims
import Glibc
import TCPCopyCore

/// The IPv6 twin of `RawIPSink`: an `AF_INET6` `SOCK_RAW` socket with `IPPROTO_RAW`, which on
/// Linux takes the whole packet, IPv6 header included (the kernel sets `IPV6_HDRINCL` for that
/// protocol; `rawv6_send_hdrinc`), so the target sees the real client's address. Packets are
/// queued back to back in one buffer and sent up to 64 per sendmmsg.
///
/// IPv4 segments have no place on this socket and are refused (`send_error_EAFNOSUPPORT`): the
/// daemon pairs it with an IPv4 sink (`FamilySplitSink`), which sends each segment by family.
final class RawIPv6Sink: PacketSink {
    static let batchLimit = 64

    let descriptor: FileDescriptor
    private(set) var sendErrors: [String: Int] = [:]
    private var batch = PacketBatch(limit: batchLimit)
    /// 16 bytes per packet, network order, index for index with `batch`.
    private var destinations: [UInt8] = []
    /// IPv4 segments queued here since the last flush (refused at the flush).
    private var misaddressed = 0

    init(sendBufferBytes: Int32) throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)") {
                socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
            })
        try setNonBlocking(descriptor.rawValue)
        try setSendBuffer(descriptor.rawValue, bytes: sendBufferBytes)
        destinations.reserveCapacity(Self.batchLimit * 16)
    }

    var batchLimit: Int { Self.batchLimit }
    var queuedCount: Int { batch.count + misaddressed }

    func prepare(destinations: [IPAddress]) {}

    /// Encodes an IPv6 `segment` at the end of the queue, and keeps its destination address
    /// (bytes 24 to 40 of the IPv6 header) for sendmmsg; an IPv4 one is refused at the flush.
    func queue(_ segment: OutgoingSegment) {
        guard segment.destination.family == .ipv6 else {
            misaddressed += 1
            return
        }
        batch.append(segment)
        let packet = batch.packet(at: batch.count - 1)
        destinations.append(contentsOf: packet[(packet.startIndex + 24)..<(packet.startIndex + 40)])
    }

    func flush(refused: (SendRefusal) -> Void) -> Int {
        for _ in 0..<misaddressed {
            note(.failed(SystemCallError("sendmmsg(raw6)", errno: EAFNOSUPPORT)), refused)
        }
        misaddressed = 0
        let fd = descriptor.rawValue
        let sent = destinations.withUnsafeBufferPointer { destinations in
            batch.send(call: "sendmmsg(raw6)", refused: { note($0, refused) }) { base, offsets, lengths, first, count in
                CTCPCopyShims_send6_batch(fd, base, offsets, lengths, destinations.baseAddress! + 16 * first, count)
            }
        }
        destinations.removeAll(keepingCapacity: true)
        return sent
    }

    func addCounters(to counters: inout TCPCopyDaemonCounters) {}

    private func note(_ refusal: SendRefusal, _ refused: (SendRefusal) -> Void) {
        sendErrors[refusal.errnoName, default: 0] += 1
        refused(refusal)
    }
}

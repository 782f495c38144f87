import CTCPCopyShims
import Glibc
import TCPCopyCore

/// The IPv6 twin of `RawIPSink`: an `AF_INET6` `SOCK_RAW` socket with `IPPROTO_RAW`, which on
/// Linux takes the whole packet, IPv6 header included (the kernel sets `IPV6_HDRINCL` for that
/// protocol; `rawv6_send_hdrinc`), so the target sees the real client's address. Packets are
/// queued back to back in one buffer and sent up to 64 per sendmmsg.
///
/// It conforms to `PacketSink` so that the loop can hold it as it holds the IPv4 sinks; IPv4
/// segments have no place on this socket and are refused (`send_error_EAFNOSUPPORT`). Until the
/// engine's sessions take IPv6 (docs/ipv6.md), nothing queues IPv6 segments to it: the daemon
/// will pair it with an IPv4 sink and send each segment by its family.
final class RawIPv6Sink: PacketSink {
    static let batchLimit = 64

    let descriptor: FileDescriptor
    private(set) var sendErrors: [String: Int] = [:]
    private var bytes: [UInt8] = []
    private var offsets: [UInt32] = []
    private var lengths: [UInt32] = []
    /// 16 bytes per packet, network order.
    private var destinations: [UInt8] = []
    /// IPv4 segments queued here since the last flush (refused at the flush).
    private var misaddressed = 0

    init(sendBufferBytes: Int32) throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)") {
                socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
            })
        try setNonBlocking(descriptor.rawValue)
        do {
            try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_SNDBUFFORCE, sendBufferBytes, "SO_SNDBUFFORCE")
        } catch {
            try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_SNDBUF, sendBufferBytes, "SO_SNDBUF")
        }
        bytes.reserveCapacity(Self.batchLimit * 1600)
        offsets.reserveCapacity(Self.batchLimit)
        lengths.reserveCapacity(Self.batchLimit)
        destinations.reserveCapacity(Self.batchLimit * 16)
    }

    var batchLimit: Int { Self.batchLimit }
    var queuedCount: Int { offsets.count + misaddressed }

    func prepare(destinations: [IPv4Address]) {}

    /// An IPv4 segment: refused at the next flush.
    func queue(_ segment: OutgoingSegment) { misaddressed += 1 }

    /// Encodes `segment` at the end of the queue.
    func queue(_ segment: IPv6OutgoingSegment) {
        let start = bytes.count
        segment.encode(into: &bytes)
        offsets.append(UInt32(start))
        lengths.append(UInt32(bytes.count - start))
        destinations.append(contentsOf: bytes[(start + 24)..<(start + 40)])
    }

    func flush(refused: (SystemCallError) -> Void) -> Int {
        for _ in 0..<misaddressed {
            note(SystemCallError("sendmmsg(raw6)", errno: EAFNOSUPPORT), refused)
        }
        misaddressed = 0
        var next = 0
        var sent = 0
        let count = offsets.count
        while next < count {
            let chunk = Int32(min(Self.batchLimit, count - next))
            let result = bytes.withUnsafeBufferPointer { base in
                offsets.withUnsafeBufferPointer { offsets in
                    lengths.withUnsafeBufferPointer { lengths in
                        destinations.withUnsafeBufferPointer { destinations in
                            CTCPCopyShims_send6_batch(
                                descriptor.rawValue, base.baseAddress, offsets.baseAddress! + next,
                                lengths.baseAddress! + next, destinations.baseAddress! + 16 * next, chunk)
                        }
                    }
                }
            }
            if result > 0 {
                next += Int(result)
                sent += Int(result)
                continue
            }
            let code = errno
            if result < 0 && code == EINTR { continue }
            note(SystemCallError("sendmmsg(raw6)", errno: result < 0 ? code : EIO), refused)
            next += 1
        }
        bytes.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        destinations.removeAll(keepingCapacity: true)
        return sent
    }

    func addCounters(to counters: inout TCPCopyDaemonCounters) {}

    private func note(_ error: SystemCallError, _ refused: (SystemCallError) -> Void) {
        sendErrors[error.errnoName, default: 0] += 1
        refused(error)
    }
}

import CMNL
import CTCPCopyShims
import Glibc

/// One NFQUEUE queue, read through libmnl with libnetfilter_queue's netlink-message helpers.
/// Only the first `copyRange` bytes of each packet are copied to us: the headers, never the
/// payload. Verdicts are collected and sent in one netlink write per batch of packets.
final class NetfilterQueue {
    /// IPv4 header (at most 60 bytes) and TCP header (at most 60 bytes).
    static let headerCopyRange: UInt32 = 120

    private let socket: OpaquePointer
    let queue: UInt16
    private var receiveBuffer = [UInt8](repeating: 0, count: 1 << 17)
    private var verdicts = [UInt8](repeating: 0, count: 1 << 16)
    private var verdictBytes = 0
    private var decided: [(id: UInt32, accept: Bool)] = []
    /// Netlink receive overruns (ENOBUFS): the kernel dropped queued packets it could not give
    /// us, which is fail-closed but a lost copy.
    private(set) var overruns = 0
    /// Error messages the kernel sent back (a verdict for an unknown packet id, for one).
    private(set) var netlinkErrors = 0

    var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

    init(queue: UInt16, maximumLength: UInt32, receiveBufferBytes: Int32) throws(SystemCallError) {
        var step: UnsafePointer<CChar>? = nil
        guard let handle = CTCPCopyShims_nfq_open(queue, Self.headerCopyRange, maximumLength, &step) else {
            throw SystemCallError(step.map { String(cString: $0) } ?? "nfq_open", errno: errno)
        }
        socket = handle
        self.queue = queue
        let fd = mnl_socket_get_fd(handle)
        try setNonBlocking(fd)
        do {
            try setSocketOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, receiveBufferBytes, "SO_RCVBUFFORCE")
        } catch {
            try? setSocketOption(fd, SOL_SOCKET, SO_RCVBUF, receiveBufferBytes, "SO_RCVBUF")
        }
    }

    deinit { mnl_socket_close(socket) }

    /// Reads up to `limit` netlink buffers and calls `decide` for each queued packet with its
    /// first bytes; `decide` returns true to ACCEPT, false to DROP. Every packet seen gets its
    /// verdict before this returns.
    func process(limit: Int, _ decide: (UnsafeRawBufferPointer) -> Bool) throws(SystemCallError) {
        for _ in 0..<limit {
            let received = receiveBuffer.withUnsafeMutableBytes { raw in
                mnl_socket_recvfrom(socket, raw.baseAddress, raw.count)
            }
            if received < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { break }
                if code == ENOBUFS {
                    overruns += 1
                    continue
                }
                throw SystemCallError("mnl_socket_recvfrom", errno: code)
            }
            // The packet bytes are only valid inside this closure; verdicts are collected here
            // and encoded after it.
            decided.removeAll(keepingCapacity: true)
            receiveBuffer.withUnsafeBytes { raw in
                var offset = 0
                var packet = CTCPCopyShims_nfq_packet()
                while true {
                    let status = CTCPCopyShims_nfq_next_packet(raw.baseAddress, received, &offset, &packet)
                    if status == 0 || status == -2 { break }
                    if status == -1 {
                        // An error report for an earlier verdict: count it, keep reading.
                        netlinkErrors += 1
                        continue
                    }
                    let bytes = UnsafeRawBufferPointer(start: packet.payload, count: Int(packet.payload_len))
                    decided.append((packet.packet_id, decide(bytes)))
                }
            }
            for (id, accept) in decided { try addVerdict(id: id, accept: accept) }
            try flushVerdicts()
        }
        try flushVerdicts()
    }

    private func addVerdict(id: UInt32, accept: Bool) throws(SystemCallError) {
        let capacity = verdicts.count
        var used = verdictBytes
        var status = verdicts.withUnsafeMutableBytes {
            CTCPCopyShims_nfq_put_verdict($0.baseAddress, capacity, &used, queue, id, accept ? 1 : 0)
        }
        if status != 0 {
            try flushVerdicts()
            used = 0
            status = verdicts.withUnsafeMutableBytes {
                CTCPCopyShims_nfq_put_verdict($0.baseAddress, capacity, &used, queue, id, accept ? 1 : 0)
            }
        }
        verdictBytes = used
    }

    private func flushVerdicts() throws(SystemCallError) {
        guard verdictBytes > 0 else { return }
        defer { verdictBytes = 0 }
        let sent = verdicts.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, verdictBytes) }
        if sent < 0 { throw SystemCallError("mnl_socket_sendto(verdicts)", errno: errno) }
    }
}

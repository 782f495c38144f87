import TCPCopyCore

/// The default sink: an IPv4 raw socket (`RawSendSocket`). Copies go through the host's
/// routing, iptables OUTPUT and connection tracking like any locally sent packet, which is
/// where a full conntrack table or a REJECT rule turns them into `send_error_EPERM`.
final class RawIPSink: PacketSink {
    private let socket: RawSendSocket
    private(set) var sendErrors: [String: Int] = [:]

    init(sendBufferBytes: Int32) throws(SystemCallError) {
        socket = try RawSendSocket(sendBufferBytes: sendBufferBytes)
    }

    var batchLimit: Int { RawSendSocket.batchLimit }
    var queuedCount: Int { socket.queuedCount }

    func prepare(destinations: [IPAddress]) {}

    func queue(_ segment: OutgoingSegment) { socket.queue(segment) }

    func flush(refused: (SendRefusal) -> Void) -> Int {
        socket.flush { error in
            sendErrors[error.errnoName, default: 0] += 1
            refused(error)
        }
    }

    func addCounters(to counters: inout TCPCopyDaemonCounters) {}
}

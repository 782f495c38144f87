import TCPCopyCore

/// Sends each segment through the sink of its address family: tcpcopy copying IPv4 and IPv6
/// routes at once without `-o` holds the raw IPv4 socket and the raw IPv6 socket (with `-o`, the
/// link-layer sink sends both families itself). Each family keeps its own batch; a flush sends
/// both.
final class FamilySplitSink: PacketSink {
    private let ipv4: PacketSink
    private let ipv6: PacketSink

    init(ipv4: PacketSink, ipv6: PacketSink) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }

    /// The smaller limit: the daemon flushes before either batch is over its own.
    var batchLimit: Int { min(ipv4.batchLimit, ipv6.batchLimit) }
    var queuedCount: Int { max(ipv4.queuedCount, ipv6.queuedCount) }
    var sendErrors: [String: Int] { ipv4.sendErrors.merging(ipv6.sendErrors, uniquingKeysWith: +) }

    func prepare(destinations: [IPAddress]) {
        ipv4.prepare(destinations: destinations.filter { $0.family == .ipv4 })
        ipv6.prepare(destinations: destinations.filter { $0.family == .ipv6 })
    }

    func queue(_ segment: OutgoingSegment) {
        (segment.destination.family == .ipv4 ? ipv4 : ipv6).queue(segment)
    }

    func flush(refused: (SendRefusal) -> Void) -> Int {
        ipv4.flush(refused: refused) + ipv6.flush(refused: refused)
    }

    func addCounters(to counters: inout TCPCopyDaemonCounters) {
        ipv4.addCounters(to: &counters)
        ipv6.addCounters(to: &counters)
    }
}

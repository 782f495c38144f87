/// Sorts a capture file's IPv4 packets: a file holds both directions, and only the clients'
/// packets to the routes are replayed; the online server's answers are counted and skipped.
public struct ReplayClassifier: Sendable {
    public enum Kind: Equatable, Sendable {
        /// A client's packet to a route: replayed.
        case client
        /// The online server's packet from a route's port: skipped.
        case answer
        /// Anything else (other ports, other protocols): skipped.
        case other
    }

    /// A connection as the file shows it, for counting the sessions in the file.
    public struct Connection: Hashable, Sendable {
        public var client: UInt64
        public var server: UInt64
    }

    private let routes: [CopyRoute]

    public init(routes: [CopyRoute]) { self.routes = routes }

    public func classify(_ packet: UnsafeRawBufferPointer) -> Kind {
        guard let header = Self.header(packet) else { return .other }
        if routes.contains(where: { $0.onlinePort == header.destinationPort && $0.accepts(header.destination) }) {
            return .client
        }
        if routes.contains(where: { $0.onlinePort == header.sourcePort && $0.accepts(header.source) }) {
            return .answer
        }
        return .other
    }

    /// The connection of a client packet (`classify` said `.client`).
    public static func connection(_ packet: UnsafeRawBufferPointer) -> Connection? {
        guard let header = header(packet) else { return nil }
        return Connection(
            client: UInt64(header.source.value) << 16 | UInt64(header.sourcePort),
            server: UInt64(header.destination.value) << 16 | UInt64(header.destinationPort))
    }

    /// Whether a TCP packet has SYN set and ACK clear.
    public static func isSYN(_ packet: UnsafeRawBufferPointer) -> Bool {
        synSequence(packet) != nil
    }

    /// The initial sequence number of a client's SYN (SYN set, ACK clear); nil for any other
    /// packet.
    public static func synSequence(_ packet: UnsafeRawBufferPointer) -> UInt32? {
        guard let header = header(packet), header.tcpStart + 14 <= packet.count,
            packet[header.tcpStart + 13] & 0x12 == 0x02
        else { return nil }
        let at = header.tcpStart + 4
        return UInt32(packet[at]) << 24 | UInt32(packet[at + 1]) << 16 | UInt32(packet[at + 2]) << 8
            | UInt32(packet[at + 3])
    }

    private struct Header {
        var source: IPv4Address
        var destination: IPv4Address
        var sourcePort: UInt16
        var destinationPort: UInt16
        var tcpStart: Int
    }

    /// The addresses and ports of an IPv4 TCP packet.
    private static func header(_ packet: UnsafeRawBufferPointer) -> Header? {
        guard packet.count >= 20, packet[0] >> 4 == 4, packet[9] == 6 else { return nil }
        let start = Int(packet[0] & 0x0F) * 4
        guard start >= 20, packet.count >= start + 4 else { return nil }
        func word(_ at: Int) -> UInt32 {
            UInt32(packet[at]) << 24 | UInt32(packet[at + 1]) << 16 | UInt32(packet[at + 2]) << 8
                | UInt32(packet[at + 3])
        }
        return Header(
            source: IPv4Address(word(12)), destination: IPv4Address(word(16)),
            sourcePort: UInt16(packet[start]) << 8 | UInt16(packet[start + 1]),
            destinationPort: UInt16(packet[start + 2]) << 8 | UInt16(packet[start + 3]), tcpStart: start)
    }
}

/// Counts the sessions in a capture file from its clients' packets: a connection seen first
/// without its SYN is one, and each SYN with a new initial sequence number is one more (a
/// client port used again later in the file), while a retransmitted SYN is not.
public struct FileSessionCounter: Sendable {
    /// The last SYN's sequence number of each connection; nil: seen without a SYN so far.
    private var lastSYN: [ReplayClassifier.Connection: UInt32?] = [:]
    public private(set) var count = 0

    public init() {}

    public mutating func saw(_ packet: UnsafeRawBufferPointer) {
        guard let connection = ReplayClassifier.connection(packet) else { return }
        let syn = ReplayClassifier.synSequence(packet)
        guard let known = lastSYN[connection] else {
            lastSYN[connection] = .some(syn)
            count += 1
            return
        }
        if let syn, known != syn {
            lastSYN[connection] = .some(syn)
            count += 1
        }
    }
}

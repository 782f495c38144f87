/// Sorts a capture file's IPv4 and IPv6 packets: a file holds both directions, and only the clients'
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
        public var client: IPAddress
        public var clientPort: UInt16
        public var server: IPAddress
        public var serverPort: UInt16
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
            client: header.source, clientPort: header.sourcePort, server: header.destination,
            serverPort: header.destinationPort)
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
        var source: IPAddress
        var destination: IPAddress
        var sourcePort: UInt16
        var destinationPort: UInt16
        var tcpStart: Int
    }

    /// The addresses and ports of a TCP packet: IPv4, or IPv6 with TCP right after the fixed
    /// header (the replayed files' clients send no extension headers; a packet with them is
    /// left to the engine's parser, which walks them).
    private static func header(_ packet: UnsafeRawBufferPointer) -> Header? {
        guard let first = packet.first else { return nil }
        let start: Int
        let source: IPAddress
        let destination: IPAddress
        switch first >> 4 {
        case 4:
            guard packet.count >= 20, packet[9] == 6 else { return nil }
            start = Int(first & 0x0F) * 4
            guard start >= 20 else { return nil }
            source = .v4(IPv4Address(packet.readUInt32(at: 12)!))
            destination = .v4(IPv4Address(packet.readUInt32(at: 16)!))
        case 6:
            guard packet.count >= 40 else { return nil }
            if packet[6] != IPv6TCPPacket.NextHeader.tcp {
                guard case .success(let parsed) = IPv6TCPPacket.parse(packet, requirePayload: false, readOptions: false)
                else { return nil }
                return Header(
                    source: .v6(parsed.source), destination: .v6(parsed.destination), sourcePort: parsed.sourcePort,
                    destinationPort: parsed.destinationPort, tcpStart: parsed.tcpOffset)
            }
            start = 40
            source = .v6(IPv6Address.read(packet, at: 8)!)
            destination = .v6(IPv6Address.read(packet, at: 24)!)
        default:
            return nil
        }
        guard packet.count >= start + 4 else { return nil }
        return Header(
            source: source, destination: destination, sourcePort: packet.readUInt16(at: start)!,
            destinationPort: packet.readUInt16(at: start + 2)!, tcpStart: start)
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

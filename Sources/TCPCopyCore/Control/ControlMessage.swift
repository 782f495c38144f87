/// The messages tcpcopy and intercept exchange over their TCP control connection.
/// The wire format is in docs/control-protocol.md.
public enum ControlMessage: Hashable, Sendable {
    /// tcpcopy → intercept, first message: the protocol version tcpcopy speaks.
    case hello(version: UInt16)
    /// intercept → tcpcopy: the version accepted; registrations may follow.
    case welcome(version: UInt16)
    /// Either side, before closing: why.
    case goodbye(GoodbyeReason)
    /// tcpcopy → intercept: send me the responses of this session. Sent before its SYN.
    case register(RouteKey)
    /// tcpcopy → intercept: the session is over; forget its route.
    case unregister(RouteKey)
    /// intercept → tcpcopy: the IP and TCP headers (options included) of one response.
    case response(ResponseHeader)
    /// Either side: I am alive (sent when the connection is otherwise idle).
    case heartbeat

    public static let protocolVersion: UInt16 = 1
}

/// Why a peer ends the control connection.
public enum GoodbyeReason: UInt16, Sendable, CaseIterable {
    case shuttingDown = 1
    case unsupportedVersion = 2
    case protocolError = 3
    case notAllowed = 4
    case unknown = 0xFFFF
}

/// The headers of one response packet, validated: IPv4, TCP, lengths consistent. Its bytes are
/// exactly the IP header and the TCP header with options; the IP total length field still says
/// how long the packet was, payload included.
public struct ResponseHeader: Hashable, Sendable {
    public let bytes: [UInt8]
    public let packet: TCPPacket

    /// Validates `bytes`; nil unless they are exactly an IPv4 header and a TCP header.
    public init?(bytes: [UInt8]) {
        guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false),
            packet.headerLength == bytes.count
        else { return nil }
        self.bytes = bytes
        self.packet = packet
    }

    /// The headers at the front of a packet (`bytes` may be longer, or hold only headers).
    public init?<C: Collection>(packetPrefix bytes: C) where C.Element == UInt8, C.Index == Int {
        guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false) else {
            return nil
        }
        self.bytes = Array(bytes.prefix(packet.headerLength))
        self.packet = packet
    }
}

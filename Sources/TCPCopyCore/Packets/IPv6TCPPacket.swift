/// An IPv6 packet carrying TCP, decoded: the fixed header, the extension headers walked over,
/// the TCP header. `payloadLength` comes from the IPv6 payload length, so a header-only copy
/// still tells how much data the packet carried (as `TCPPacket` does for IPv4).
public struct IPv6TCPPacket: Hashable, Sendable {
    public var source: IPv6Address
    public var destination: IPv6Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: SequenceNumber
    public var acknowledgment: SequenceNumber
    public var flags: TCPFlags
    public var window: UInt16
    public var hopLimit: UInt8
    public var options: TCPOptions
    /// Where the TCP header starts: 40 plus the extension headers.
    public var tcpOffset: Int
    /// Bytes of IPv6 header, extension headers and TCP header, options included.
    public var headerLength: Int
    /// Bytes of TCP payload the packet carried on the wire.
    public var payloadLength: Int

    /// The packet as the engines read either family.
    public var tcpPacket: TCPPacket {
        TCPPacket(
            source: .v6(source), destination: .v6(destination), sourcePort: sourcePort,
            destinationPort: destinationPort, sequence: sequence, acknowledgment: acknowledgment,
            flags: flags, window: window, options: options, headerLength: headerLength,
            payloadLength: payloadLength)
    }

    /// Sequence space the packet occupies: its payload, plus one each for SYN and FIN.
    public var sequenceLength: Int {
        payloadLength + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
    }

    /// Next-header values (IANA "Assigned Internet Protocol Numbers").
    public enum NextHeader {
        public static let hopByHop: UInt8 = 0
        public static let tcp: UInt8 = 6
        public static let routing: UInt8 = 43
        public static let fragment: UInt8 = 44
        public static let esp: UInt8 = 50
        public static let authentication: UInt8 = 51
        public static let noNextHeader: UInt8 = 59
        public static let destinationOptions: UInt8 = 60
        public static let mobility: UInt8 = 135
        public static let hip: UInt8 = 139
        public static let shim6: UInt8 = 140
        public static let experiment1: UInt8 = 253
        public static let experiment2: UInt8 = 254
    }

    /// More extension headers than this is refused: RFC 8200 §4.1's order has seven (AH and ESP
    /// among them, where we stop anyway), and a hostile chain of hundreds must not cost a walk.
    public static let maximumExtensionHeaders = 8

    /// Decodes `bytes`, with the meaning of `requirePayload` and `readOptions` of
    /// `TCPPacket.parse`.
    public static func parse<C: Collection>(
        _ bytes: C, requirePayload: Bool, readOptions: Bool = true
    ) -> Result<IPv6TCPPacket, PacketDropReason> where C.Element == UInt8, C.Index == Int {
        if let result = bytes.withContiguousStorageIfAvailable({
            decode($0, requirePayload: requirePayload, readOptions: readOptions)
        }) {
            return result
        }
        return decode(bytes, requirePayload: requirePayload, readOptions: readOptions)
    }

    /// `decode`, as the family-neutral packet: for `TCPPacket.parse`, on its cold path.
    @inline(never)
    static func decodeTCPPacket<C: Collection>(
        _ bytes: C, requirePayload: Bool, readOptions: Bool
    ) -> Result<TCPPacket, PacketDropReason> where C.Element == UInt8, C.Index == Int {
        decode(bytes, requirePayload: requirePayload, readOptions: readOptions).map(\.tcpPacket)
    }

    private static func decode<C: Collection>(
        _ bytes: C, requirePayload: Bool, readOptions: Bool
    ) -> Result<IPv6TCPPacket, PacketDropReason> where C.Element == UInt8, C.Index == Int {
        let base = bytes.startIndex
        guard bytes.count >= 40 else { return .failure(.truncatedIPHeader) }
        guard bytes[base] >> 4 == 6 else { return .failure(.notIPv6) }
        let payloadLengthField = Int(bytes.readUInt16(at: 4)!)
        var nextHeader = bytes[base + 6]
        let hopLimit = bytes[base + 7]
        // Walk the extension headers to TCP.
        var offset = 40
        var walked = 0
        while nextHeader != NextHeader.tcp {
            switch nextHeader {
            case NextHeader.hopByHop, NextHeader.routing, NextHeader.destinationOptions:
                if nextHeader == NextHeader.hopByHop && walked > 0 { return .failure(.misplacedHopByHop) }
                // Next header, then the length in 8-byte units not counting the first 8.
                guard offset + 2 <= bytes.count else { return .failure(.truncatedExtensionHeader) }
                let length = (Int(bytes[base + offset + 1]) + 1) * 8
                guard offset + length <= bytes.count else { return .failure(.truncatedExtensionHeader) }
                nextHeader = bytes[base + offset]
                offset += length
            case NextHeader.fragment:
                guard offset + 8 <= bytes.count else { return .failure(.truncatedExtensionHeader) }
                // Offset and M flag zero: an atomic fragment (RFC 6946), a whole packet.
                guard bytes.readUInt16(at: offset + 2)! & 0xFFF9 == 0 else { return .failure(.fragment) }
                nextHeader = bytes[base + offset]
                offset += 8
            case NextHeader.esp, NextHeader.authentication, NextHeader.noNextHeader, NextHeader.mobility,
                NextHeader.hip, NextHeader.shim6, NextHeader.experiment1, NextHeader.experiment2:
                return .failure(.unsupportedExtensionHeader)
            default:
                return .failure(.notTCP)
            }
            walked += 1
            guard walked <= maximumExtensionHeaders else { return .failure(.unsupportedExtensionHeader) }
        }
        let tcp = offset
        guard tcp + 20 <= bytes.count else { return .failure(.truncatedTCPHeader) }
        let dataOffset = Int(bytes[base + tcp + 12] >> 4) * 4
        guard dataOffset >= 20, tcp + dataOffset <= bytes.count else { return .failure(.badDataOffset) }
        let headerLength = tcp + dataOffset
        let flags = TCPFlags(rawValue: bytes[base + tcp + 13] & 0x3F)
        guard flags.isAcceptable else { return .failure(.badFlags) }
        // Payload length 0 with more bytes held: a jumbogram or a GSO packet handed over whole
        // (BIG TCP); what we hold is exact for a captured packet.
        let wireLength = payloadLengthField == 0 && requirePayload ? bytes.count : 40 + payloadLengthField
        guard wireLength >= headerLength else { return .failure(.badTotalLength) }
        if requirePayload && wireLength > bytes.count { return .failure(.truncatedPayload) }
        let optionsRange = (base + tcp + 20)..<(base + headerLength)
        let packet = IPv6TCPPacket(
            source: IPv6Address.read(bytes, at: 8)!,
            destination: IPv6Address.read(bytes, at: 24)!,
            sourcePort: bytes.readUInt16(at: tcp)!,
            destinationPort: bytes.readUInt16(at: tcp + 2)!,
            sequence: SequenceNumber(bytes.readUInt32(at: tcp + 4)!),
            acknowledgment: SequenceNumber(bytes.readUInt32(at: tcp + 8)!),
            flags: flags,
            window: bytes.readUInt16(at: tcp + 14)!,
            hopLimit: hopLimit,
            options: readOptions ? TCPOptions(parsing: bytes[optionsRange]) : TCPOptions(),
            tcpOffset: tcp,
            headerLength: headerLength,
            payloadLength: wireLength - headerLength)
        return .success(packet)
    }
}

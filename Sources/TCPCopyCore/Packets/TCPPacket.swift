/// Why a packet was not used. Every captured or queued packet we cannot use is counted under
/// one of these, so that an operator can see where copies are lost.
public enum PacketDropReason: String, CaseIterable, Sendable, Error {
    case truncatedIPHeader = "truncated_ip_header"
    /// The version field is neither 4 nor 6 (or not the one a family's own parser expects).
    case notIPv4 = "not_ipv4"
    case badIPHeaderLength = "bad_ihl"
    case badTotalLength = "bad_total_length"
    case fragment = "fragment"
    case notTCP = "not_tcp"
    case truncatedTCPHeader = "truncated_tcp_header"
    case badDataOffset = "bad_data_offset"
    case truncatedPayload = "truncated_payload"
    /// A flag combination no TCP stack accepts (SYN with FIN or RST, or none of SYN, ACK and
    /// RST): scanners send these, and a receiving stack discards them, so a copy must not act on
    /// them either (a SYN+FIN would otherwise start a session the online server never had).
    case badFlags = "bad_flags"
    /// IPv6's parser was handed a packet whose version field is not 6.
    case notIPv6 = "not_ipv6"
    /// An IPv6 extension header that runs past the bytes held.
    case truncatedExtensionHeader = "truncated_ipv6_extension"
    /// A hop-by-hop options header anywhere but first, which RFC 8200 §4.1 forbids and
    /// Linux drops.
    case misplacedHopByHop = "misplaced_hop_by_hop"
    /// ESP or AH (we cannot see through them), "no next header", another extension we do not
    /// walk, or a chain longer than any real stack sends.
    case unsupportedExtensionHeader = "unsupported_ipv6_extension"
}

/// An IPv4 or IPv6 packet carrying TCP, decoded. `payloadLength` comes from the IP total (or
/// payload) length, so a header-only copy (what intercept sends) still tells how much data the
/// packet carried. Both addresses are of one family.
public struct TCPPacket: Hashable, Sendable {
    // The small fields sit in the padding after each address (17 bytes, aligned to 8): 88
    // bytes instead of 96, and fewer pieces to move when a packet is copied.
    public var source: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var window: UInt16
    public var destination: IPAddress
    public var flags: TCPFlags
    public var sequence: SequenceNumber
    public var acknowledgment: SequenceNumber
    public var options: TCPOptions
    /// Bytes of IP header (IPv6: with its extension headers) plus TCP header, options included.
    public var headerLength: Int
    /// Bytes of TCP payload the packet carried on the wire.
    public var payloadLength: Int

    init(
        source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
        sequence: SequenceNumber, acknowledgment: SequenceNumber, flags: TCPFlags, window: UInt16,
        options: TCPOptions, headerLength: Int, payloadLength: Int
    ) {
        self.source = source
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.window = window
        self.destination = destination
        self.flags = flags
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.options = options
        self.headerLength = headerLength
        self.payloadLength = payloadLength
    }

    /// Sequence space the packet occupies: its payload, plus one each for SYN and FIN.
    public var sequenceLength: Int {
        payloadLength + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
    }

    /// Decodes `bytes`. With `requirePayload`, the bytes must hold the whole payload (a captured
    /// packet); without it they may stop after the TCP header (a response header from intercept).
    /// Without `readOptions`, `options` is left empty (intercept routes by addresses and ports
    /// only); what is accepted does not change, as reading the options never fails.
    /// The version field picks the family: 6 goes to IPv6's decoder (`IPv6TCPPacket.parse`).
    public static func parse<C: Collection>(_ bytes: C, requirePayload: Bool, readOptions: Bool = true) -> Result<
        TCPPacket, PacketDropReason
    > where C.Element == UInt8, C.Index == Int {
        // Contiguous bytes (an array, a slice of the capture buffer) are read through a buffer
        // pointer: the same checks, without a slice's bounds checks on every byte read.
        if let result = bytes.withContiguousStorageIfAvailable({
            decode($0, requirePayload: requirePayload, readOptions: readOptions)
        }) {
            return result
        }
        return decode(bytes, requirePayload: requirePayload, readOptions: readOptions)
    }

    private static func decode<C: Collection>(_ bytes: C, requirePayload: Bool, readOptions: Bool) -> Result<
        TCPPacket, PacketDropReason
    > where C.Element == UInt8, C.Index == Int {
        let base = bytes.startIndex
        guard bytes.count >= 20 else { return .failure(.truncatedIPHeader) }
        let versionAndLength = bytes[base]
        guard versionAndLength >> 4 == 4 else {
            // IPv6 is told apart here, on IPv4's failure path, rather than in a dispatch
            // before this decoder: a wrapper returning either family's packet copied the whole
            // result once more per packet (docs/performance-history.md).
            guard versionAndLength >> 4 == 6 else { return .failure(.notIPv4) }
            return IPv6TCPPacket.decodeTCPPacket(bytes, requirePayload: requirePayload, readOptions: readOptions)
        }
        let ipHeaderLength = Int(versionAndLength & 0x0F) * 4
        guard ipHeaderLength >= 20 else { return .failure(.badIPHeaderLength) }
        guard ipHeaderLength + 20 <= bytes.count else {
            return .failure(ipHeaderLength > bytes.count ? .badIPHeaderLength : .truncatedTCPHeader)
        }
        guard let totalLength = bytes.readUInt16(at: 2), let fragmentField = bytes.readUInt16(at: 6)
        else { return .failure(.truncatedIPHeader) }
        // More-fragments set, or a non-zero offset: TCP never needs them on a sane path.
        guard fragmentField & 0x3FFF == 0 else { return .failure(.fragment) }
        guard bytes[base + 9] == 6 else { return .failure(.notTCP) }
        let tcp = ipHeaderLength
        let dataOffset = Int(bytes[base + tcp + 12] >> 4) * 4
        guard dataOffset >= 20 else { return .failure(.badDataOffset) }
        guard tcp + dataOffset <= bytes.count else { return .failure(.badDataOffset) }
        let headerLength = tcp + dataOffset
        let flags = TCPFlags(rawValue: bytes[base + tcp + 13] & 0x3F)
        guard flags.isAcceptable else { return .failure(.badFlags) }
        // A GSO packet handed over whole may carry total length 0 (over 64 KiB); fall back to
        // what we hold, which is exact for captured packets.
        let wireLength = totalLength == 0 && requirePayload ? bytes.count : Int(totalLength)
        guard wireLength >= headerLength else { return .failure(.badTotalLength) }
        if requirePayload && wireLength > bytes.count { return .failure(.truncatedPayload) }
        let optionsRange = (base + tcp + 20)..<(base + headerLength)
        let packet = TCPPacket(
            source: .v4(IPv4Address(bytes.readUInt32(at: 12)!)),
            destination: .v4(IPv4Address(bytes.readUInt32(at: 16)!)),
            sourcePort: bytes.readUInt16(at: tcp)!,
            destinationPort: bytes.readUInt16(at: tcp + 2)!,
            sequence: SequenceNumber(bytes.readUInt32(at: tcp + 4)!),
            acknowledgment: SequenceNumber(bytes.readUInt32(at: tcp + 8)!),
            flags: flags,
            window: bytes.readUInt16(at: tcp + 14)!,
            options: readOptions ? TCPOptions(parsing: bytes[optionsRange]) : TCPOptions(),
            headerLength: headerLength,
            payloadLength: wireLength - headerLength)
        return .success(packet)
    }
}

extension TCPFlags {
    /// Whether a TCP stack would look at a segment with these flags at all (RFC 9293 §3.10.7;
    /// Linux discards the rest before any state is touched).
    var isAcceptable: Bool {
        if contains(.syn) && (contains(.fin) || contains(.rst)) { return false }
        return contains(.syn) || contains(.ack) || contains(.rst)
    }
}

import Testing

@testable import TCPCopyCore

/// A SYN captured with tcpdump on a veth pair in two namespaces (fd00:24::1 → fd00:24::2,
/// curl's connect, transmit checksum offload off so that the kernel filled the checksum in);
/// tcpdump called its checksum 0xb973 correct. From the IPv6 header on.
let capturedIPv6SYN: [UInt8] = [
    0x60, 0x07, 0x18, 0x0E, 0x00, 0x28, 0x06, 0x40,  // version 6, flow label 0x7180e, 40 bytes, TCP, hop limit 64
    0xFD, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xFD, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x9C, 0x40, 0x00, 0x50, 0x7F, 0xCC, 0x0F, 0xCE, 0x00, 0x00, 0x00, 0x00,  // 40000 → 80, seq
    0xA0, 0x02, 0xFD, 0x20, 0xB9, 0x73, 0x00, 0x00,  // 40 bytes, SYN, window 64800, checksum
    0x02, 0x04, 0x05, 0xA0, 0x04, 0x02, 0x08, 0x0A, 0x67, 0xC4, 0x03, 0x41,  // MSS, SACK-permitted, TS
    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0A,  // TS echo 0, NOP, window scale 10
]

/// The TCP checksum of an IPv6 packet without extension headers, summed the slow way: a
/// pseudo-header laid out as bytes (RFC 8200 §8.1), then 16-bit words in a UInt32, folded once
/// at the end. Independent of `InternetChecksum` on purpose.
func referenceIPv6TCPChecksum(_ packet: [UInt8]) -> UInt16 {
    let segment = Array(packet[40...])
    var pseudo = Array(packet[8..<40])  // source and destination
    let length = UInt32(segment.count)
    pseudo += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    pseudo += [0, 0, 0, 6]
    var all = pseudo + segment
    if all.count % 2 == 1 { all.append(0) }
    var sum: UInt32 = 0
    for i in stride(from: 0, to: all.count, by: 2) { sum += UInt32(all[i]) << 8 | UInt32(all[i + 1]) }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

/// Builds an IPv6 packet with a chain of extension headers before a TCP header, each field
/// overridable, so that each test breaks exactly one thing.
private struct HandBuiltIPv6Packet {
    /// (type, bytes) of each extension header; the bytes' first byte is overwritten with the
    /// next header's type.
    var extensions: [(type: UInt8, bytes: [UInt8])] = []
    var finalNextHeader: UInt8 = 6
    var versionByte: UInt8 = 0x60
    var payloadLength: UInt16?
    var dataOffsetWords: UInt8?
    var flagsByte: UInt8 = 0x18  // PSH ACK
    var tcpOptions: [UInt8] = []
    var payload: [UInt8] = Array("hello".utf8)

    var bytes: [UInt8] {
        var chain: [UInt8] = []
        for (index, ext) in extensions.enumerated() {
            var header = ext.bytes
            header[0] = index + 1 < extensions.count ? extensions[index + 1].type : finalNextHeader
            chain += header
        }
        let tcpLength = 20 + tcpOptions.count
        var tcp: [UInt8] = [0x9C, 0x40, 0x00, 0x50, 0, 0, 0x03, 0xE8, 0, 0, 0x07, 0xD0]  // seq 1000, ack 2000
        tcp += [(dataOffsetWords ?? UInt8(tcpLength / 4)) << 4, flagsByte, 0xFD, 0x20, 0, 0, 0, 0]
        let length = payloadLength ?? UInt16(chain.count + tcpLength + payload.count)
        var b: [UInt8] = [versionByte, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xFF)]
        b += [extensions.first?.type ?? finalNextHeader, 64]
        b += IPv6Address("fd00:1::10")!.bytes + IPv6Address("fd00:1::1")!.bytes
        return b + chain + tcp + tcpOptions + payload
    }

    /// An options header (hop-by-hop or destination options) of `8 * (units + 1)` bytes, padded
    /// with PadN.
    static func options(_ type: UInt8, units: UInt8 = 0) -> (type: UInt8, bytes: [UInt8]) {
        let length = 8 * (Int(units) + 1)
        return (type, [0, units, 1, UInt8(length - 4)] + [UInt8](repeating: 0, count: length - 4))
    }

    /// A type 0-style routing header with no segments left and one address.
    static let routing: (type: UInt8, bytes: [UInt8]) = (
        43, [0, 2, 0, 0, 0, 0, 0, 0] + IPv6Address("fd00:9::9")!.bytes
    )

    static func fragment(offset: UInt16 = 0, more: Bool = false) -> (type: UInt8, bytes: [UInt8]) {
        let field = offset << 3 | (more ? 1 : 0)
        return (44, [0, 0, UInt8(field >> 8), UInt8(field & 0xFF), 0x12, 0x34, 0x56, 0x78])
    }
}

private func reason(_ bytes: [UInt8], requirePayload: Bool = true) -> PacketDropReason? {
    switch IPv6TCPPacket.parse(bytes, requirePayload: requirePayload) {
    case .success: nil
    case .failure(let reason): reason
    }
}

@Suite struct IPv6TCPPacketParsingTests {
    @Test func capturedSYN() throws {
        let packet = try IPv6TCPPacket.parse(capturedIPv6SYN, requirePayload: true).get()
        #expect(packet.source == IPv6Address("fd00:24::1"))
        #expect(packet.destination == IPv6Address("fd00:24::2"))
        #expect(packet.sourcePort == 40000)
        #expect(packet.destinationPort == 80)
        #expect(packet.sequence == SequenceNumber(2_144_079_822))
        #expect(packet.acknowledgment == SequenceNumber(0))
        #expect(packet.flags == .syn)
        #expect(packet.window == 64800)
        #expect(packet.hopLimit == 64)
        #expect(packet.tcpOffset == 40)
        #expect(packet.headerLength == 80)
        #expect(packet.payloadLength == 0)
        #expect(packet.sequenceLength == 1)
        #expect(
            packet.options
                == TCPOptions(
                    maximumSegmentSize: 1440, windowScale: 10, sackPermitted: true,
                    timestamp: .init(value: 1_740_899_137, echoReply: 0)))
        // The same from a slice whose indices do not start at zero, and without the options.
        let shifted = ([0xEE, 0xEE, 0xEE] + capturedIPv6SYN)[3...]
        #expect(try IPv6TCPPacket.parse(shifted, requirePayload: true).get() == packet)
        let bare = try IPv6TCPPacket.parse(capturedIPv6SYN, requirePayload: true, readOptions: false).get()
        #expect(bare.options == TCPOptions() && bare.headerLength == 80)
    }

    @Test func capturedSYNChecksumVerifies() {
        // Summed with its checksum in place, a correct segment folds to zero.
        var sum = InternetChecksum()
        sum.addIPv6PseudoHeader(
            source: IPv6Address("fd00:24::1")!, destination: IPv6Address("fd00:24::2")!, upperLayerLength: 40,
            nextHeader: 6)
        sum.add(capturedIPv6SYN[40...])
        #expect(sum.value == 0)
        // With the field zeroed, both ways of summing give the kernel's value.
        var zeroed = capturedIPv6SYN
        zeroed[56] = 0
        zeroed[57] = 0
        #expect(referenceIPv6TCPChecksum(zeroed) == 0xB973)
        var again = InternetChecksum()
        again.addIPv6PseudoHeader(
            source: IPv6Address("fd00:24::1")!, destination: IPv6Address("fd00:24::2")!, upperLayerLength: 40,
            nextHeader: 6)
        again.add(zeroed[40...])
        #expect(again.value == 0xB973)
    }

    @Test func segmentWithPayload() throws {
        let bytes = HandBuiltIPv6Packet().bytes
        let packet = try IPv6TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(packet.source == IPv6Address("fd00:1::10") && packet.destination == IPv6Address("fd00:1::1"))
        #expect(packet.flags == [.psh, .ack])
        #expect(packet.sequence == SequenceNumber(1000) && packet.acknowledgment == SequenceNumber(2000))
        #expect(packet.headerLength == 60 && packet.payloadLength == 5)
        // A header-only copy still tells the payload's length.
        let header = try IPv6TCPPacket.parse(Array(bytes[..<60]), requirePayload: false).get()
        #expect(header.payloadLength == 5)
        #expect(reason(Array(bytes[..<60])) == .truncatedPayload)
    }

    @Test(arguments: [
        [HandBuiltIPv6Packet.options(0)],
        [HandBuiltIPv6Packet.options(0, units: 3)],
        [HandBuiltIPv6Packet.options(60)],
        [HandBuiltIPv6Packet.routing],
        [HandBuiltIPv6Packet.fragment()],  // atomic: a whole packet
        // RFC 8200 §4.1's order, every kind at once.
        [
            HandBuiltIPv6Packet.options(0, units: 1), HandBuiltIPv6Packet.options(60), HandBuiltIPv6Packet.routing,
            HandBuiltIPv6Packet.fragment(), HandBuiltIPv6Packet.options(60, units: 2),
        ],
    ])
    func walksExtensionHeaders(_ extensions: [(type: UInt8, bytes: [UInt8])]) throws {
        let built = HandBuiltIPv6Packet(extensions: extensions)
        let chain = extensions.reduce(0) { $0 + $1.bytes.count }
        let packet = try IPv6TCPPacket.parse(built.bytes, requirePayload: true).get()
        #expect(packet.tcpOffset == 40 + chain)
        #expect(packet.headerLength == 60 + chain)
        #expect(packet.payloadLength == 5)
        #expect(packet.sourcePort == 40000 && packet.sequence == SequenceNumber(1000))
    }

    /// Each header of a chain cut anywhere inside it: a drop reason, never a read past the end.
    @Test func everyTruncationIsADropReason() {
        let bytes = HandBuiltIPv6Packet(extensions: [
            HandBuiltIPv6Packet.options(0, units: 1), HandBuiltIPv6Packet.routing, HandBuiltIPv6Packet.fragment(),
            HandBuiltIPv6Packet.options(60),
        ]).bytes
        let tcp = 40 + 16 + 24 + 8 + 8
        for cut in 0..<bytes.count {
            let expected: PacketDropReason =
                switch cut {
                case ..<40: .truncatedIPHeader
                case ..<tcp: .truncatedExtensionHeader
                case ..<(tcp + 20): .truncatedTCPHeader
                default: .truncatedPayload
                }
            #expect(reason(Array(bytes[..<cut])) == expected, "cut at \(cut)")
            if cut < tcp + 20 {
                #expect(reason(Array(bytes[..<cut]), requirePayload: false) == expected, "cut at \(cut)")
            } else {
                #expect(reason(Array(bytes[..<cut]), requirePayload: false) == nil, "cut at \(cut)")
            }
        }
        #expect(reason(bytes) == nil)
    }

    @Test func fragmentsAreCounted() {
        let first = HandBuiltIPv6Packet(extensions: [HandBuiltIPv6Packet.fragment(more: true)]).bytes
        #expect(reason(first) == .fragment)
        let later = HandBuiltIPv6Packet(extensions: [HandBuiltIPv6Packet.fragment(offset: 185)]).bytes
        #expect(reason(later) == .fragment)
        let afterOptions = HandBuiltIPv6Packet(extensions: [
            HandBuiltIPv6Packet.options(0), HandBuiltIPv6Packet.fragment(offset: 1, more: true),
        ]).bytes
        #expect(reason(afterOptions) == .fragment)
    }

    @Test(arguments: [50 as UInt8, 51, 59, 135, 139, 140, 253, 254])
    func stopsAtHeadersItCannotWalk(_ type: UInt8) {
        let direct = HandBuiltIPv6Packet(finalNextHeader: type).bytes
        #expect(reason(direct) == .unsupportedExtensionHeader)
        let afterOptions = HandBuiltIPv6Packet(
            extensions: [HandBuiltIPv6Packet.options(60)], finalNextHeader: type
        ).bytes
        #expect(reason(afterOptions) == .unsupportedExtensionHeader)
    }

    @Test(arguments: [17 as UInt8, 58, 1, 4, 41, 132])
    func otherUpperLayersAreNotTCP(_ type: UInt8) {
        #expect(reason(HandBuiltIPv6Packet(finalNextHeader: type).bytes) == .notTCP)
        #expect(
            reason(HandBuiltIPv6Packet(extensions: [HandBuiltIPv6Packet.routing], finalNextHeader: type).bytes)
                == .notTCP)
    }

    @Test func hopByHopOnlyFirst() {
        let late = HandBuiltIPv6Packet(extensions: [HandBuiltIPv6Packet.options(60), HandBuiltIPv6Packet.options(0)])
        #expect(reason(late.bytes) == .misplacedHopByHop)
    }

    @Test func longChainsAreRefused() {
        let eight = HandBuiltIPv6Packet(extensions: Array(repeating: HandBuiltIPv6Packet.options(60), count: 8))
        #expect(reason(eight.bytes) == nil)
        let nine = HandBuiltIPv6Packet(extensions: Array(repeating: HandBuiltIPv6Packet.options(60), count: 9))
        #expect(reason(nine.bytes) == .unsupportedExtensionHeader)
    }

    @Test func malformedFixedAndTCPHeaders() throws {
        #expect(reason(HandBuiltIPv6Packet(versionByte: 0x45).bytes) == .notIPv6)
        #expect(reason(HandBuiltIPv6Packet(versionByte: 0x00).bytes) == .notIPv6)
        #expect(reason(HandBuiltIPv6Packet(dataOffsetWords: 4).bytes) == .badDataOffset)
        #expect(reason(HandBuiltIPv6Packet(dataOffsetWords: 15).bytes) == .badDataOffset)
        #expect(reason(HandBuiltIPv6Packet(flagsByte: 0x03).bytes) == .badFlags)  // SYN+FIN
        #expect(reason(HandBuiltIPv6Packet(flagsByte: 0x00).bytes) == .badFlags)
        // Payload length shorter than the headers, or claiming more than was captured.
        #expect(reason(HandBuiltIPv6Packet(payloadLength: 19).bytes) == .badTotalLength)
        let routed = HandBuiltIPv6Packet(extensions: [HandBuiltIPv6Packet.routing], payloadLength: 30)
        #expect(reason(routed.bytes) == .badTotalLength)
        #expect(reason(HandBuiltIPv6Packet(payloadLength: 26).bytes) == .truncatedPayload)
        // Payload length 0 on a whole capture (jumbogram, BIG TCP): what we hold.
        let jumbo = HandBuiltIPv6Packet(payloadLength: 0).bytes
        #expect(try IPv6TCPPacket.parse(jumbo, requirePayload: true).get().payloadLength == 5)
        #expect(reason(jumbo, requirePayload: false) == .badTotalLength)
        // A longer capture than the payload length says (Ethernet padding): the field wins.
        let padded = HandBuiltIPv6Packet().bytes + [0, 0, 0]
        #expect(try IPv6TCPPacket.parse(padded, requirePayload: true).get().payloadLength == 5)
        // An IPv4 packet is not IPv6, and the other way round.
        #expect(reason(CapturedClient().bytes(seq: 1, .syn)) == .notIPv6)
        // Either family's packets go through `TCPPacket.parse`, which reads the version.
        let both = try TCPPacket.parse(capturedIPv6SYN, requirePayload: true).get()
        #expect(both == (try IPv6TCPPacket.parse(capturedIPv6SYN, requirePayload: true).get().tcpPacket))
        #expect(both.source.family == .ipv6)
    }

    @Test func ipv6ReasonsHaveTheirOwnCounterNames() {
        let names = [PacketDropReason.notIPv6, .truncatedExtensionHeader, .misplacedHopByHop, .unsupportedExtensionHeader]
            .map(\.rawValue)
        #expect(names == ["not_ipv6", "truncated_ipv6_extension", "misplaced_hop_by_hop", "unsupported_ipv6_extension"])
    }

    /// Every byte string up to a few bytes past a real header chain, and random bytes behind a
    /// valid fixed header: parse or refuse, never trap, and a parsed packet lies inside.
    @Test func arbitraryBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var bytes = HandBuiltIPv6Packet().bytes
            let count = Int.random(in: 40...120, using: &generator)
            bytes = Array(bytes[..<min(40, bytes.count)])
            bytes[6] = [0, 6, 43, 44, 60, 50, 17][Int.random(in: 0..<7, using: &generator)]
            while bytes.count < count { bytes.append(UInt8.random(in: 0...255, using: &generator)) }
            for requirePayload in [true, false] {
                if case .success(let packet) = IPv6TCPPacket.parse(bytes, requirePayload: requirePayload) {
                    #expect(packet.headerLength <= bytes.count)
                    if requirePayload { #expect(packet.headerLength + packet.payloadLength <= bytes.count) }
                }
            }
        }
    }
}

@Suite struct IPv6OutgoingSegmentTests {
    private let source = IPv6Address("fd00:24::1")!
    private let destination = IPv6Address("fd00:24::2")!

    @Test func encodesHeaderFields() {
        let segment = OutgoingSegment(
            source: .v6(source), destination: .v6(destination), sourcePort: 40000, destinationPort: 80,
            sequence: SequenceNumber(1000), acknowledgment: SequenceNumber(2000), flags: [.psh, .ack], window: 502,
            payload: Array("GET /".utf8)[...])
        let bytes = segment.encode()
        #expect(bytes.count == segment.encodedLength && bytes.count == 65)
        #expect(Array(bytes[0..<8]) == [0x60, 0, 0, 0, 0, 25, 6, 64])
        #expect(Array(bytes[8..<24]) == source.bytes && Array(bytes[24..<40]) == destination.bytes)
        #expect(Array(bytes[60...]) == Array("GET /".utf8))
        #expect(referenceIPv6TCPChecksum(bytes) == 0, "a correct segment sums to zero with its checksum")
        var zeroed = bytes
        zeroed[56] = 0
        zeroed[57] = 0
        #expect(UInt16(bytes[56]) << 8 | UInt16(bytes[57]) == referenceIPv6TCPChecksum(zeroed))
    }

    /// The captured SYN's fields, rebuilt. Our options put the NOPs elsewhere than Linux and
    /// spend four bytes more, so the checksum differs from the kernel's; 0xA76D was computed
    /// apart from this code (Python, `struct.unpack` of 16-bit words over the pseudo-header
    /// and segment).
    @Test func rebuildsTheCapturedSYN() throws {
        let captured = try IPv6TCPPacket.parse(capturedIPv6SYN, requirePayload: true).get()
        let bytes = OutgoingSegment(
            source: .v6(captured.source), destination: .v6(captured.destination), sourcePort: captured.sourcePort,
            destinationPort: captured.destinationPort, sequence: captured.sequence,
            acknowledgment: captured.acknowledgment, flags: captured.flags, window: captured.window,
            options: captured.options
        ).encode()
        var expected: [UInt8] = [0x60, 0, 0, 0, 0x00, 0x2C, 0x06, 0x40] + Array(capturedIPv6SYN[8..<52])
        expected += [0xB0, 0x02, 0xFD, 0x20, 0xA7, 0x6D, 0x00, 0x00]
        expected += [0x02, 0x04, 0x05, 0xA0, 0x01, 0x03, 0x03, 0x0A, 0x01, 0x01, 0x04, 0x02]
        expected += [0x01, 0x01, 0x08, 0x0A, 0x67, 0xC4, 0x03, 0x41, 0x00, 0x00, 0x00, 0x00]
        #expect(bytes == expected)
        #expect(referenceIPv6TCPChecksum(bytes) == 0)
        #expect(try IPv6TCPPacket.parse(bytes, requirePayload: true).get().options == captured.options)
    }

    @Test(arguments: [0, 1, 2, 7, 8, 9, 1199, 1200, 1220])
    func roundTripsThroughTheParser(_ payloadCount: Int) throws {
        let payload = (0..<payloadCount).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let segment = OutgoingSegment(
            source: .v6(IPv6Address("fd00:2::2")!), destination: .v6(IPv6Address("fd00:1::10")!), sourcePort: 80,
            destinationPort: 40000, sequence: SequenceNumber(0xFFFF_FFF0), acknowledgment: SequenceNumber(7),
            flags: payloadCount == 0 ? [.syn, .ack] : [.ack, .psh], window: 65535,
            options: payloadCount == 0
                ? TCPOptions(maximumSegmentSize: 1220, windowScale: 7, sackPermitted: true) : TCPOptions(),
            payload: payload[...])
        var buffer: [UInt8] = [0xAA]  // appended after what is there
        segment.encode(into: &buffer)
        let bytes = Array(buffer.dropFirst())
        #expect(buffer[0] == 0xAA)
        #expect(referenceIPv6TCPChecksum(bytes) == 0)
        let packet = try IPv6TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(.v6(packet.source) == segment.source && .v6(packet.destination) == segment.destination)
        #expect(packet.sourcePort == 80 && packet.destinationPort == 40000)
        #expect(packet.sequence == segment.sequence && packet.acknowledgment == segment.acknowledgment)
        #expect(packet.flags == segment.flags && packet.window == 65535 && packet.hopLimit == 64)
        #expect(packet.options == segment.options)
        #expect(packet.payloadLength == payloadCount)
        #expect(Array(bytes[packet.headerLength...]) == payload)
    }

    /// The pseudo-header by hand against `addIPv6PseudoHeader`, for a length over 16 bits.
    @Test func pseudoHeaderCarriesA32BitLength() {
        var viaHelper = InternetChecksum()
        viaHelper.addIPv6PseudoHeader(
            source: source, destination: destination, upperLayerLength: 0x0001_0010, nextHeader: 6)
        let byHand = source.bytes + destination.bytes + [0, 1, 0, 0x10, 0, 0, 0, 6]
        #expect(viaHelper.value == InternetChecksum.of(byHand))
    }
}

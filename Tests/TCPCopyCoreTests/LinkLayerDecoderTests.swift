import Testing

@testable import TCPCopyCore

/// A 40-byte IPv4 TCP packet 192.168.1.10:40000 -> 10.0.0.1:80 (SYN), fragment field `fragment`.
private func ipv4Packet(fragment: UInt16 = 0x4000, totalLength: UInt16 = 40) -> [UInt8] {
    var bytes: [UInt8] = [
        0x45, 0, UInt8(totalLength >> 8), UInt8(totalLength & 0xFF), 0, 1, UInt8(fragment >> 8),
        UInt8(fragment & 0xFF), 64, 6, 0, 0, 192, 168, 1, 10, 10, 0, 0, 1,
    ]
    bytes += [0x9C, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]
    return bytes
}

private let ipv6Header: [UInt8] = [0x60] + [UInt8](repeating: 0, count: 39)

private func decode(_ frame: [UInt8], _ type: LinkType) -> LinkFrame {
    frame.withUnsafeBytes { LinkLayerDecoder.decode($0, linkType: type) }
}

private func ethernet(tags: [UInt16] = [], type: UInt16 = 0x0800) -> [UInt8] {
    var header = [UInt8](repeating: 0xAA, count: 6) + [UInt8](repeating: 0xBB, count: 6)
    for tag in tags { header += [UInt8(tag >> 8), UInt8(tag & 0xFF), 0x00, 0x64] }
    return header + [UInt8(type >> 8), UInt8(type & 0xFF)]
}

/// Linux cooked v1: packet type, ARPHRD_ETHER, address length 6, address (8), protocol.
private func cooked(packetType: UInt16, type: UInt16 = 0x0800) -> [UInt8] {
    [0, UInt8(packetType), 0, 1, 0, 6] + [UInt8](repeating: 0xCC, count: 8) + [UInt8(type >> 8), UInt8(type & 0xFF)]
}

/// Linux cooked v2: protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address.
private func cooked2(packetType: UInt8, type: UInt16 = 0x0800) -> [UInt8] {
    [UInt8(type >> 8), UInt8(type & 0xFF), 0, 0, 0, 0, 0, 3, 0, 1, packetType, 6]
        + [UInt8](repeating: 0xCC, count: 8)
}

@Suite("Link-layer decoding")
struct LinkLayerDecoderTests {
    @Test("libpcap's link type numbers, live and in files")
    func linkTypes() {
        #expect(LinkType(dataLinkType: 1) == .ethernet)
        #expect(LinkType(dataLinkType: 113) == .linuxCooked)
        #expect(LinkType(dataLinkType: 276) == .linuxCooked2)
        #expect(LinkType(dataLinkType: 12) == .rawIP)
        #expect(LinkType(dataLinkType: 101) == .rawIP)
        #expect(LinkType(dataLinkType: 0) == .null)
        #expect(LinkType(dataLinkType: 108) == .loop)
        #expect(LinkType(dataLinkType: 105) == nil)  // 802.11
    }

    @Test("Ethernet: the IP packet follows the 14-byte header, padding cut off")
    func ethernetPadded() {
        // A 40-byte packet in a 60-byte minimum frame: 6 bytes of padding.
        let frame = ethernet() + ipv4Packet() + [0, 0, 0, 0, 0, 0]
        #expect(decode(frame, .ethernet) == .ipv4(range: 14..<54, direction: .unknown))
    }

    @Test("VLAN and QinQ tags are skipped, stacked")
    func vlanTags() {
        #expect(
            decode(ethernet(tags: [0x8100]) + ipv4Packet(), .ethernet) == .ipv4(range: 18..<58, direction: .unknown))
        #expect(
            decode(ethernet(tags: [0x88A8, 0x8100]) + ipv4Packet(), .ethernet)
                == .ipv4(range: 22..<62, direction: .unknown))
        #expect(decode(ethernet(tags: [0x8100]), .ethernet) == .truncated)
    }

    @Test("ARP, IPv6 and a cut header are told apart")
    func ethernetOthers() {
        #expect(decode(ethernet(type: 0x0806) + [UInt8](repeating: 0, count: 28), .ethernet) == .notIP)
        #expect(decode(ethernet(type: 0x86DD) + ipv6Header, .ethernet) == .ipv6(range: 14..<54, direction: .unknown))
        #expect(decode(Array(ethernet().prefix(10)), .ethernet) == .truncated)
        #expect(decode(ethernet() + Array(ipv4Packet().prefix(30)), .ethernet) == .truncated)
    }

    @Test("Linux cooked v1: the packet type says outgoing")
    func cookedV1() {
        #expect(
            decode(cooked(packetType: 0) + ipv4Packet(), .linuxCooked) == .ipv4(range: 16..<56, direction: .incoming))
        #expect(
            decode(cooked(packetType: 4) + ipv4Packet(), .linuxCooked) == .ipv4(range: 16..<56, direction: .outgoing))
        #expect(decode(cooked(packetType: 0, type: 0x0806), .linuxCooked) == .notIP)
        #expect(decode(Array(cooked(packetType: 0).prefix(15)), .linuxCooked) == .truncated)
    }

    @Test("Linux cooked v2: protocol first, packet type at 10")
    func cookedV2() {
        #expect(
            decode(cooked2(packetType: 0) + ipv4Packet(), .linuxCooked2) == .ipv4(range: 20..<60, direction: .incoming))
        #expect(
            decode(cooked2(packetType: 4) + ipv4Packet(), .linuxCooked2) == .ipv4(range: 20..<60, direction: .outgoing))
        #expect(
            decode(cooked2(packetType: 0, type: 0x86DD) + ipv6Header, .linuxCooked2)
                == .ipv6(range: 20..<60, direction: .incoming))
        #expect(decode(Array(cooked2(packetType: 0).prefix(19)), .linuxCooked2) == .truncated)
    }

    @Test("Raw IP (an ipip tunnel): the version nibble decides")
    func rawIP() {
        #expect(decode(ipv4Packet(), .rawIP) == .ipv4(range: 0..<40, direction: .unknown))
        #expect(decode(ipv6Header, .rawIP) == .ipv6(range: 0..<40, direction: .unknown))
        #expect(decode([0x10, 0, 0], .rawIP) == .notIP)
        #expect(decode([], .rawIP) == .truncated)
    }

    @Test("NULL in either byte order, LOOP in network order")
    func nullAndLoop() {
        #expect(decode([2, 0, 0, 0] + ipv4Packet(), .null) == .ipv4(range: 4..<44, direction: .unknown))
        #expect(decode([0, 0, 0, 2] + ipv4Packet(), .null) == .ipv4(range: 4..<44, direction: .unknown))
        #expect(decode([30, 0, 0, 0] + ipv6Header, .null) == .ipv6(range: 4..<44, direction: .unknown))
        #expect(decode([0, 0, 0, 2] + ipv4Packet(), .loop) == .ipv4(range: 4..<44, direction: .unknown))
        #expect(decode([0, 0, 0, 7] + ipv4Packet(), .loop) == .notIP)
        #expect(decode([2, 0], .null) == .truncated)
    }

    @Test("IPv4 fragments, first or later, are told apart from whole packets")
    func fragments() {
        #expect(decode(ipv4Packet(fragment: 0x2000), .rawIP) == .ipv4Fragment)  // first, more follow
        #expect(decode(ipv4Packet(fragment: 0x00B9), .rawIP) == .ipv4Fragment)  // the last
        #expect(decode(ipv4Packet(fragment: 0x0000), .rawIP) == .ipv4(range: 0..<40, direction: .unknown))
    }

    @Test("A total length past the captured bytes is a snaplen cut; one below the header is not IP")
    func lengths() {
        #expect(decode(ipv4Packet(totalLength: 1500), .rawIP) == .truncated)
        #expect(decode(ipv4Packet(totalLength: 12), .rawIP) == .notIP)
    }

    @Test("The counters take every frame that is not handed on, outgoing ones, and IPv6 ones")
    func counters() {
        var counters = LinkCaptureCounters()
        let frames: [LinkFrame] = [
            .ipv4(range: 0..<40, direction: .incoming), .ipv4(range: 0..<40, direction: .outgoing),
            .ipv4(range: 0..<40, direction: .unknown), .ipv6(range: 0..<40, direction: .incoming), .ipv4Fragment,
            .notIP,
            .truncated, .truncated,
        ]
        let accepted = frames.compactMap { counters.accept($0) }
        #expect(accepted.count == 3, "both IPv4 that are not outgoing, and the IPv6 one")
        #expect(counters.outgoing == 1)
        #expect(counters.ipv6 == 1)
        #expect(counters.fragments == 1)
        #expect(counters.notIP == 1)
        #expect(counters.truncated == 2)
    }
}

@Suite("Replaying capture files")
struct ReplayTests {
    private func ms(_ value: Int64) -> CaptureTimestamp {
        CaptureTimestamp(nanoseconds: 1_700_000_000_000_000_000 + value * 1_000_000)
    }

    @Test("Due times follow the file's gaps, divided by the speed")
    func speed() {
        var pacer = ReplayPacer(speed: 2, idleGapMilliseconds: nil)
        #expect(pacer.due(ms(0)) == 0)
        #expect(pacer.due(ms(100)) == 50_000_000)
        #expect(pacer.due(ms(1100)) == 550_000_000)
        var slow = ReplayPacer(speed: 0.5, idleGapMilliseconds: nil)
        _ = slow.due(ms(0))
        #expect(slow.due(ms(10)) == 20_000_000)
    }

    @Test("-I shortens a long gap to the limit, not to nothing")
    func idleGap() {
        var pacer = ReplayPacer(speed: 1, idleGapMilliseconds: 100)
        _ = pacer.due(ms(0))
        #expect(pacer.due(ms(50)) == 50_000_000)
        #expect(pacer.due(ms(10_050)) == 150_000_000)
        #expect(pacer.due(ms(10_070)) == 170_000_000)
    }

    @Test("An earlier timestamp is due at once and does not pull the clock back")
    func outOfOrder() {
        var pacer = ReplayPacer(speed: 1, idleGapMilliseconds: nil)
        _ = pacer.due(ms(1000))
        #expect(pacer.due(ms(2000)) == 1_000_000_000)
        #expect(pacer.due(ms(500)) == 1_000_000_000)
        #expect(pacer.due(ms(2100)) == 1_100_000_000)
    }

    @Test("A second pass follows the first without a gap")
    func loop() {
        var pacer = ReplayPacer(speed: 1, idleGapMilliseconds: nil)
        _ = pacer.due(ms(0))
        #expect(pacer.due(ms(300)) == 300_000_000)
        pacer.restart()
        #expect(pacer.due(ms(0)) == 300_000_000)
        #expect(pacer.due(ms(300)) == 600_000_000)
    }

    @Test("Only the clients' packets to a route are replayed; the server's answers are not")
    func classifier() {
        let route = CopyRoute(
            onlineAddress: .v4(IPv4Address(10, 0, 0, 1)), onlinePort: 80, targetAddress: .v4(IPv4Address(10, 0, 0, 2)),
            targetPort: 80)
        let classifier = ReplayClassifier(routes: [route])
        let request = ipv4Packet()
        var answer = request
        answer.replaceSubrange(12..<20, with: [10, 0, 0, 1, 192, 168, 1, 10])
        answer.replaceSubrange(20..<24, with: [0, 80, 0x9C, 0x40])
        var otherHost = request
        otherHost.replaceSubrange(16..<20, with: [10, 0, 0, 9])
        var udp = request
        udp[9] = 17
        #expect(request.withUnsafeBytes { classifier.classify($0) } == .client)
        #expect(answer.withUnsafeBytes { classifier.classify($0) } == .answer)
        #expect(otherHost.withUnsafeBytes { classifier.classify($0) } == .other)
        #expect(udp.withUnsafeBytes { classifier.classify($0) } == .other)
        #expect(request.withUnsafeBytes { ReplayClassifier.isSYN($0) })
    }

    @Test("The default live filter names each route's port, and its address when given")
    func filterExpression() {
        let routes = [
            CopyRoute(
                onlineAddress: .v4(IPv4Address(10, 0, 0, 1)), onlinePort: 80, targetAddress: .v4(IPv4Address(10, 0, 0, 2)),
                targetPort: 80),
            CopyRoute(onlineAddress: nil, onlinePort: 443, targetAddress: .v4(IPv4Address(10, 0, 0, 2)), targetPort: 443),
        ]
        #expect(
            RouteFilterExpression.make(routes: routes)
                == "tcp and ((dst host 10.0.0.1 and dst port 80) or (dst port 443))")
    }

    @Test("On Ethernet the default filter also matches one or two tags left in the frame (QinQ)")
    func filterExpressionTagged() {
        let routes = [
            CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v4(IPv4Address(10, 0, 0, 2)), targetPort: 80)
        ]
        let untagged = "tcp and ((dst port 80))"
        #expect(
            RouteFilterExpression.make(routes: routes, linkType: .ethernet)
                == "\(untagged) or (vlan and ((\(untagged)) or (vlan and \(untagged))))")
        // libpcap refuses `vlan` on links without tags.
        for linkType in [LinkType.linuxCooked, .linuxCooked2, .rawIP, .null, .loop] {
            #expect(RouteFilterExpression.make(routes: routes, linkType: linkType) == untagged)
        }
    }
}

@Suite("Counting a file's sessions")
struct FileSessionCounterTests {
    /// A client packet of port `port`, a SYN with `isn` or a bare ACK.
    private func packet(port: UInt16, syn isn: UInt32?) -> [UInt8] {
        var bytes = ipv4Packet()
        bytes[20] = UInt8(port >> 8)
        bytes[21] = UInt8(port & 0xFF)
        if let isn {
            bytes.replaceSubrange(
                24..<28, with: [UInt8(isn >> 24), UInt8(isn >> 16 & 0xFF), UInt8(isn >> 8 & 0xFF), UInt8(isn & 0xFF)])
        } else {
            bytes[33] = 0x10
        }
        return bytes
    }

    @Test("A port used again with a new SYN is a new session; a retransmitted SYN is not")
    func reuseAndRetransmission() {
        var counter = FileSessionCounter()
        for bytes in [
            packet(port: 1000, syn: 7), packet(port: 1000, syn: 7), packet(port: 1000, syn: nil),
            packet(port: 1000, syn: 99), packet(port: 2000, syn: nil), packet(port: 2000, syn: nil),
            packet(port: 2000, syn: 5),
        ] {
            bytes.withUnsafeBytes { counter.saw($0) }
        }
        // 1000 twice (ISN 7, then 99), 2000 seen mid-way, then opened again with a SYN.
        #expect(counter.count == 4)
    }
}

/// IPv6 frames come out as packets (cut to their payload length), parseable by
/// `IPv6TCPPacket`, and are still counted and skipped by the counters.
@Suite struct LinkLayerIPv6Tests {
    func decode(_ bytes: [UInt8], _ type: LinkType) -> LinkFrame {
        bytes.withUnsafeBytes { LinkLayerDecoder.decode($0, linkType: type) }
    }

    let segment = OutgoingSegment(
        source: .v6(IPv6Address("fd00:1::10")!), destination: .v6(IPv6Address("fd00:2::2")!), sourcePort: 40000,
        destinationPort: 80, sequence: SequenceNumber(7), acknowledgment: SequenceNumber(9), flags: [.psh, .ack],
        window: 500, payload: Array("GET /".utf8)[...]
    ).encode()

    @Test func ethernetFrameWithPaddingIsCutToThePayloadLength() throws {
        let frame = [UInt8](repeating: 0xAA, count: 12) + [0x86, 0xDD] + segment + [0, 0, 0]
        let decoded = decode(frame, .ethernet)
        #expect(decoded == .ipv6(range: 14..<(14 + segment.count), direction: .unknown))
        guard case .ipv6(let range, _) = decoded else { return }
        let packet = try IPv6TCPPacket.parse(Array(frame[range]), requirePayload: true).get()
        #expect(packet.destinationPort == 80 && packet.payloadLength == 5)
        var counters = LinkCaptureCounters()
        #expect(counters.accept(decoded) == range && counters.ipv6 == 1)
    }

    @Test func cutAndWrongVersionFramesAreToldApart() {
        #expect(decode(Array(segment.prefix(39)), .rawIP) == .truncated)
        #expect(decode(Array(segment.dropLast()), .rawIP) == .truncated, "a snaplen cut")
        var notSix = segment
        notSix[0] = 0x40
        #expect(decode([0x86, 0xDD].withEthernetHeader + notSix, .ethernet) == .notIP)
        #expect(decode([10, 0, 0, 0] + segment, .null) == .ipv6(range: 4..<(4 + segment.count), direction: .unknown))
    }
}

extension Array where Element == UInt8 {
    /// 12 address bytes before an EtherType.
    fileprivate var withEthernetHeader: [UInt8] { [UInt8](repeating: 0, count: 12) + self }
}

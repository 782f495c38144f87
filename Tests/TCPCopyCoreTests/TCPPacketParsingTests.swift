import Testing

@testable import TCPCopyCore

/// Builds an IPv4 + TCP packet byte by byte, each field overridable, so that each test breaks
/// exactly one thing.
private struct HandBuiltPacket {
    var versionAndLength: UInt8 = 0x45
    var ipOptions: [UInt8] = []
    var totalLength: UInt16?
    var fragmentField: UInt16 = 0x4000  // DF
    var ipProtocol: UInt8 = 6
    var dataOffsetWords: UInt8?
    var flagsByte: UInt8 = 0x02  // SYN
    var sequence: UInt32 = 1000
    var acknowledgment: UInt32 = 0
    var window: UInt16 = 64240
    var tcpOptions: [UInt8] = []
    var payload: [UInt8] = []

    var bytes: [UInt8] {
        let tcpLength = 20 + tcpOptions.count
        let total = totalLength ?? UInt16(20 + ipOptions.count + tcpLength + payload.count)
        var b: [UInt8] = [versionAndLength, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0x1C, 0x46]
        b += [UInt8(fragmentField >> 8), UInt8(fragmentField & 0xFF), 64, ipProtocol, 0, 0]
        b += [192, 168, 1, 10, 10, 0, 0, 1] + ipOptions
        b += [0x9C, 0x40, 0x00, 0x50]  // 40000 → 80
        b += [UInt8(sequence >> 24), UInt8(sequence >> 16 & 0xFF), UInt8(sequence >> 8 & 0xFF), UInt8(sequence & 0xFF)]
        b += [
            UInt8(acknowledgment >> 24), UInt8(acknowledgment >> 16 & 0xFF),
            UInt8(acknowledgment >> 8 & 0xFF), UInt8(acknowledgment & 0xFF),
        ]
        b += [(dataOffsetWords ?? UInt8(tcpLength / 4)) << 4, flagsByte, UInt8(window >> 8), UInt8(window & 0xFF)]
        b += [0, 0, 0, 0] + tcpOptions + payload
        return b
    }
}

private func reason(_ bytes: [UInt8], requirePayload: Bool = true) -> PacketDropReason? {
    switch TCPPacket.parse(bytes, requirePayload: requirePayload) {
    case .success: nil
    case .failure(let reason): reason
    }
}

@Suite struct TCPPacketParsingTests {
    @Test func handBuiltSYNWithOptions() throws {
        let syn = HandBuiltPacket(tcpOptions: TCPOptionsTests.linuxSYN)
        #expect(syn.bytes.count == 60)
        let packet = try TCPPacket.parse(syn.bytes, requirePayload: true).get()
        #expect(packet.source == IPv4Address(192, 168, 1, 10))
        #expect(packet.destination == IPv4Address(10, 0, 0, 1))
        #expect(packet.sourcePort == 40000)
        #expect(packet.destinationPort == 80)
        #expect(packet.sequence == SequenceNumber(1000))
        #expect(packet.acknowledgment == SequenceNumber(0))
        #expect(packet.flags == .syn)
        #expect(packet.window == 64240)
        #expect(packet.headerLength == 60)
        #expect(packet.payloadLength == 0)
        #expect(packet.sequenceLength == 1)
        #expect(
            packet.options
                == TCPOptions(
                    maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
                    timestamp: .init(value: 0x000D_4F3A, echoReply: 0)))
    }

    @Test func segmentWithPayload() throws {
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let bytes = HandBuiltPacket(
            flagsByte: 0x18, sequence: 0xFFFF_FFF0, acknowledgment: 0x1234_5678, payload: request
        ).bytes
        let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(packet.flags == [.psh, .ack])
        #expect(packet.sequence == SequenceNumber(0xFFFF_FFF0))
        #expect(packet.acknowledgment == SequenceNumber(0x1234_5678))
        #expect(packet.headerLength == 40)
        #expect(packet.payloadLength == request.count)
        #expect(packet.sequenceLength == request.count)
        #expect(Array(bytes[packet.headerLength...]) == request)
        #expect(packet.options == TCPOptions())
    }

    @Test func finCountsInTheSequenceSpace() throws {
        let bytes = HandBuiltPacket(flagsByte: 0x11, payload: [1, 2, 3]).bytes
        let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(packet.flags == [.fin, .ack])
        #expect(packet.sequenceLength == 4)
    }

    @Test func ipOptionsMoveTheTCPHeader() throws {
        let bytes = HandBuiltPacket(versionAndLength: 0x46, ipOptions: [1, 1, 1, 0], flagsByte: 0x10, payload: [7])
            .bytes
        let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(packet.sourcePort == 40000)
        #expect(packet.flags == .ack)
        #expect(packet.headerLength == 44)
        #expect(packet.payloadLength == 1)
    }

    @Test func reservedFlagBitsAreMasked() throws {
        // ECE and CWR (0x40, 0x80) are not ours to forward.
        let packet = try TCPPacket.parse(HandBuiltPacket(flagsByte: 0xFA).bytes, requirePayload: true).get()
        #expect(packet.flags.rawValue == 0x3A)
    }

    @Test func headersOnlyWithoutRequirePayload() throws {
        // What intercept relays: the total length still counts the 1000 bytes not included.
        var response = HandBuiltPacket(flagsByte: 0x18, payload: [UInt8](repeating: 0, count: 1000))
        let headers = Array(response.bytes.prefix(40))
        let packet = try TCPPacket.parse(headers, requirePayload: false).get()
        #expect(packet.payloadLength == 1000)
        #expect(reason(headers, requirePayload: true) == .truncatedPayload)
        response.payload = []
        #expect(try TCPPacket.parse(response.bytes, requirePayload: false).get().payloadLength == 0)
    }

    @Test func trailingBytesBeyondTotalLengthAreNotPayload() throws {
        // Ethernet pads short frames; the IP total length is what counts.
        let bytes = HandBuiltPacket(flagsByte: 0x10, payload: [1, 2]).bytes + [0, 0, 0, 0]
        let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(packet.payloadLength == 2)
    }

    @Test func zeroTotalLengthOfACapturedSuperPacketMeansWhatWeHold() throws {
        let bytes = HandBuiltPacket(totalLength: 0, flagsByte: 0x10, payload: [UInt8](repeating: 1, count: 100)).bytes
        #expect(try TCPPacket.parse(bytes, requirePayload: true).get().payloadLength == 100)
        #expect(reason(bytes, requirePayload: false) == .badTotalLength)
    }

    @Test func parsesASliceWithNonZeroStartIndex() throws {
        let inner = HandBuiltPacket(flagsByte: 0x18, payload: [5, 6, 7]).bytes
        let outer = [0xAA, 0xBB] + inner + [0xCC]
        let packet = try TCPPacket.parse(outer[2..<(2 + inner.count)], requirePayload: true).get()
        let direct = try TCPPacket.parse(inner, requirePayload: true).get()
        #expect(packet == direct)
        #expect(packet.payloadLength == 3)
    }

    // MARK: - Every drop reason

    @Test(arguments: [0, 1, 19])
    func truncatedIPHeader(_ count: Int) {
        let bytes = Array(HandBuiltPacket().bytes.prefix(count))
        #expect(reason(bytes) == .truncatedIPHeader)
        #expect(reason(bytes, requirePayload: false) == .truncatedIPHeader)
    }

    /// Version 6 goes to the IPv6 parser (`IPv6TCPPacketTests`); any other but 4 is refused.
    @Test(arguments: [0x55, 0x05, 0xF5] as [UInt8])
    func notIPv4(_ first: UInt8) {
        #expect(reason(HandBuiltPacket(versionAndLength: first).bytes) == .notIPv4)
    }

    @Test(arguments: [0x40, 0x41, 0x44] as [UInt8])
    func ipHeaderLengthBelowFive(_ first: UInt8) {
        #expect(reason(HandBuiltPacket(versionAndLength: first).bytes) == .badIPHeaderLength)
    }

    @Test func ipHeaderLengthBeyondThePacket() {
        // IHL 15 claims 60 bytes of IP header in a 40-byte packet.
        #expect(reason(HandBuiltPacket(versionAndLength: 0x4F).bytes) == .badIPHeaderLength)
    }

    @Test func ipHeaderLengthLeavingNoRoomForTCP() {
        // IHL 6: a 24-byte IP header leaves 16 bytes, short of a TCP header.
        #expect(reason(HandBuiltPacket(versionAndLength: 0x46).bytes) == .truncatedTCPHeader)
        #expect(reason(Array(HandBuiltPacket().bytes.prefix(39))) == .truncatedTCPHeader)
        #expect(reason(Array(HandBuiltPacket().bytes.prefix(20))) == .truncatedTCPHeader)
    }

    @Test(arguments: [0x2000, 0x6000, 0x0001, 0x4001, 0x1FFF, 0x2001] as [UInt16])
    func fragments(_ field: UInt16) {
        #expect(reason(HandBuiltPacket(fragmentField: field).bytes) == .fragment)
    }

    @Test(arguments: [0x0000, 0x4000, 0x8000] as [UInt16])
    func unfragmentedPacketsPass(_ field: UInt16) {
        #expect(reason(HandBuiltPacket(fragmentField: field).bytes) == nil)
    }

    @Test(arguments: [1, 17, 41, 132] as [UInt8])
    func notTCP(_ proto: UInt8) {
        #expect(reason(HandBuiltPacket(ipProtocol: proto).bytes) == .notTCP)
    }

    @Test(arguments: [0, 4] as [UInt8])
    func dataOffsetBelowFive(_ words: UInt8) {
        #expect(reason(HandBuiltPacket(dataOffsetWords: words).bytes) == .badDataOffset)
    }

    @Test func dataOffsetBeyondThePacket() {
        #expect(reason(HandBuiltPacket(dataOffsetWords: 6).bytes) == .badDataOffset)
        #expect(
            reason(HandBuiltPacket(dataOffsetWords: 15, payload: [UInt8](repeating: 0, count: 39)).bytes)
                == .badDataOffset)
        #expect(reason(HandBuiltPacket(dataOffsetWords: 15, payload: [UInt8](repeating: 0, count: 40)).bytes) == nil)
    }

    @Test func totalLengthShorterThanTheHeaders() {
        #expect(reason(HandBuiltPacket(totalLength: 39).bytes) == .badTotalLength)
        #expect(reason(HandBuiltPacket(totalLength: 39).bytes, requirePayload: false) == .badTotalLength)
        #expect(reason(HandBuiltPacket(totalLength: 20).bytes) == .badTotalLength)
        let withOptions = HandBuiltPacket(totalLength: 59, tcpOptions: TCPOptionsTests.linuxSYN)
        #expect(reason(withOptions.bytes) == .badTotalLength)
    }

    @Test func truncatedPayload() {
        let bytes = HandBuiltPacket(totalLength: 50, flagsByte: 0x18).bytes
        #expect(bytes.count == 40)
        #expect(reason(bytes) == .truncatedPayload)
        #expect(reason(bytes, requirePayload: false) == nil)
    }

    @Test func everyReasonIsReachable() {
        let broken: [[UInt8]] = [
            [], HandBuiltPacket(versionAndLength: 0x50).bytes, HandBuiltPacket(versionAndLength: 0x44).bytes,
            HandBuiltPacket(totalLength: 30).bytes, HandBuiltPacket(fragmentField: 0x2000).bytes,
            HandBuiltPacket(ipProtocol: 17).bytes, HandBuiltPacket(versionAndLength: 0x46).bytes,
            HandBuiltPacket(dataOffsetWords: 2).bytes, HandBuiltPacket(totalLength: 41).bytes,
            HandBuiltPacket(flagsByte: 0x03).bytes,
        ]
        // The IPv6-only reasons are reached in `IPv6TCPPacketTests`.
        let ipv6Only: Set<PacketDropReason> = [
            .notIPv6, .truncatedExtensionHeader, .misplacedHopByHop, .unsupportedExtensionHeader,
        ]
        #expect(Set(broken.compactMap { reason($0) }) == Set(PacketDropReason.allCases).subtracting(ipv6Only))
    }

    @Test func randomBytesNeverTrap() {
        var generator = SeededGenerator(seed: 791)
        let valid = HandBuiltPacket(tcpOptions: TCPOptionsTests.linuxSYN, payload: [1, 2, 3]).bytes
        for _ in 0..<5000 {
            var bytes = valid
            // Corrupt a few bytes and cut somewhere.
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            for requirePayload in [true, false] {
                if case .success(let packet) = TCPPacket.parse(bytes, requirePayload: requirePayload) {
                    #expect(packet.headerLength <= bytes.count)
                    #expect(packet.payloadLength >= 0)
                    if requirePayload { #expect(packet.headerLength + packet.payloadLength <= bytes.count) }
                }
            }
        }
    }

    @Test func reasonsHaveCounterNames() {
        #expect(PacketDropReason.truncatedIPHeader.rawValue == "truncated_ip_header")
        #expect(PacketDropReason.allCases.count == 14)
        #expect(Set(PacketDropReason.allCases.map(\.rawValue)).count == 14)
    }

    @Test func flagsDescription() {
        #expect(TCPFlags([.syn, .ack]).description == "S.")
        #expect(TCPFlags([.fin, .psh, .ack]).description == "FP.")
        #expect(TCPFlags().description == "")
    }
}

import Testing

@testable import TCPCopyCore

@Suite struct OutgoingSegmentTests {
    static let segment = OutgoingSegment(
        source: .v4(IPv4Address(192, 168, 1, 10)), destination: .v4(IPv4Address(10, 0, 0, 2)),
        sourcePort: 40000, destinationPort: 8080, sequence: SequenceNumber(0xFFFF_FFFE),
        acknowledgment: SequenceNumber(0x0102_0304), flags: [.ack, .psh], window: 0x1234,
        options: TCPOptions(timestamp: .init(value: 77, echoReply: 88)),
        payload: Array("hello, target".utf8)[...])

    /// The TCP checksum over the RFC 793 pseudo-header, computed here without the code under test.
    static func tcpChecksumVerifies(_ packet: [UInt8]) -> Bool {
        let ihl = Int(packet[0] & 0x0F) * 4
        let total = Int(packet[2]) << 8 | Int(packet[3])
        let tcpLength = total - ihl
        var pseudo = Array(packet[12..<20])
        pseudo += [0, 6, UInt8(tcpLength >> 8), UInt8(tcpLength & 0xFF)]
        return referenceChecksum(pseudo + packet[ihl..<total]) == 0
    }

    @Test func headerFields() {
        let bytes = Self.segment.encode()
        #expect(bytes.count == 20 + 32 + 13)
        #expect(Self.segment.encodedLength == bytes.count)
        #expect(Array(bytes[0..<10]) == [0x45, 0, 0, 65, 0, 0, 0x40, 0, 64, 6])
        #expect(Array(bytes[12..<20]) == [192, 168, 1, 10, 10, 0, 0, 2])
        #expect(Array(bytes[20..<24]) == [0x9C, 0x40, 0x1F, 0x90])
        #expect(Array(bytes[24..<32]) == [0xFF, 0xFF, 0xFF, 0xFE, 1, 2, 3, 4])
        #expect(bytes[32] == 0x80)  // 8 words: 20 + 12 bytes of options
        #expect(bytes[33] == 0x18)
        #expect(Array(bytes[34..<36]) == [0x12, 0x34])
        #expect(Array(bytes[38..<40]) == [0, 0])  // urgent pointer
    }

    @Test func ipChecksumVerifiesToZero() {
        let bytes = Self.segment.encode()
        #expect(referenceChecksum(Array(bytes[0..<20])) == 0)
        #expect(InternetChecksum.of(bytes[0..<20]) == 0)
        var zeroed = Array(bytes[0..<20])
        zeroed[10] = 0
        zeroed[11] = 0
        #expect(UInt16(bytes[10]) << 8 | UInt16(bytes[11]) == referenceChecksum(zeroed))
    }

    @Test func tcpChecksumVerifiesWithThePseudoHeader() {
        #expect(Self.tcpChecksumVerifies(Self.segment.encode()))
        // Odd payload lengths pad the sum with a zero byte.
        for length in [0, 1, 2, 3, 1447, 1448] {
            var segment = Self.segment
            segment.payload = [UInt8](repeating: 0xA5, count: length)[...]
            #expect(Self.tcpChecksumVerifies(segment.encode()), "payload of \(length)")
        }
    }

    @Test func checksumCatchesACorruptedByte() {
        var bytes = Self.segment.encode()
        bytes[bytes.count - 1] ^= 0x01
        #expect(!Self.tcpChecksumVerifies(bytes))
    }

    @Test func roundTripsThroughTheParser() throws {
        let bytes = Self.segment.encode()
        let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(packet.source == Self.segment.source)
        #expect(packet.destination == Self.segment.destination)
        #expect(packet.sourcePort == 40000)
        #expect(packet.destinationPort == 8080)
        #expect(packet.sequence == Self.segment.sequence)
        #expect(packet.acknowledgment == Self.segment.acknowledgment)
        #expect(packet.flags == [.ack, .psh])
        #expect(packet.window == 0x1234)
        #expect(packet.options == Self.segment.options)
        #expect(packet.headerLength == 52)
        #expect(Array(bytes[packet.headerLength...]) == Array(Self.segment.payload))
    }

    @Test func everyOptionSurvives() throws {
        var segment = Self.segment
        segment.flags = .syn
        segment.payload = []
        segment.options = TCPOptions(
            maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
            timestamp: .init(value: .max, echoReply: 1))
        let bytes = segment.encode()
        #expect(bytes.count == 64)
        let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(packet.options == segment.options)
        #expect(packet.flags == .syn)
        #expect(Self.tcpChecksumVerifies(bytes))
    }

    @Test func acknowledgmentFieldIsZeroWithoutTheACKFlag() throws {
        var segment = Self.segment
        segment.flags = .rst
        let bytes = segment.encode()
        #expect(Array(bytes[28..<32]) == [0, 0, 0, 0])
        #expect(try TCPPacket.parse(bytes, requirePayload: true).get().acknowledgment == SequenceNumber(0))
    }

    @Test func encodeIntoAppendsAfterExistingBytes() {
        var buffer: [UInt8] = [1, 2, 3]
        Self.segment.encode(into: &buffer)
        #expect(Array(buffer[0..<3]) == [1, 2, 3])
        #expect(Array(buffer[3...]) == Self.segment.encode())
    }

    @Test func payloadSliceWithOffsetIndices() throws {
        let data = Array(0..<200).map { UInt8($0) }
        var segment = Self.segment
        segment.payload = data[50..<150]
        let bytes = segment.encode()
        let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
        #expect(Array(bytes[packet.headerLength...]) == Array(data[50..<150]))
        #expect(Self.tcpChecksumVerifies(bytes))
    }

    @Test func randomSegmentsRoundTrip() throws {
        var generator = SeededGenerator(seed: 1122)
        for _ in 0..<300 {
            let segment = OutgoingSegment(
                source: .v4(IPv4Address(UInt32.random(in: .min ... .max, using: &generator))),
                destination: .v4(IPv4Address(UInt32.random(in: .min ... .max, using: &generator))),
                sourcePort: UInt16.random(in: .min ... .max, using: &generator),
                destinationPort: UInt16.random(in: .min ... .max, using: &generator),
                sequence: SequenceNumber(UInt32.random(in: .min ... .max, using: &generator)),
                acknowledgment: SequenceNumber(UInt32.random(in: .min ... .max, using: &generator)),
                flags: randomAcceptableFlags(using: &generator),
                window: UInt16.random(in: .min ... .max, using: &generator),
                options: TCPOptions(
                    maximumSegmentSize: Bool.random(using: &generator) ? 1460 : nil,
                    timestamp: Bool.random(using: &generator)
                        ? .init(value: UInt32.random(in: .min ... .max, using: &generator), echoReply: 5) : nil),
                payload: generator.bytes(Int.random(in: 0...1460, using: &generator))[...])
            let bytes = segment.encode()
            let packet = try TCPPacket.parse(bytes, requirePayload: true).get()
            #expect(packet.sequence == segment.sequence && packet.acknowledgment == segment.acknowledgment)
            #expect(packet.flags == segment.flags && packet.options == segment.options)
            #expect(packet.payloadLength == segment.payload.count)
            #expect(referenceChecksum(Array(bytes[0..<20])) == 0)
            #expect(Self.tcpChecksumVerifies(bytes))
        }
    }
}

/// Random flags a stack would accept (the parser drops SYN with FIN or RST as `bad_flags`).
private func randomAcceptableFlags(using generator: inout SeededGenerator) -> TCPFlags {
    var flags = TCPFlags(rawValue: UInt8.random(in: 0...0x3F, using: &generator)).union(.ack)
    if flags.contains(.syn) { flags.subtract([.fin, .rst]) }
    return flags
}

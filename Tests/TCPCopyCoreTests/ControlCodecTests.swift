import Testing

@testable import TCPCopyCore

/// Every kind of message, with values that fill their fields.
let everyControlMessage: [ControlMessage] = {
    let key = RouteKey(
        clientAddress: .v4(IPv4Address(192, 168, 1, 10)), clientPort: 0xFFFE,
        targetAddress: .v4(IPv4Address(10, 0, 0, 2)), targetPort: 1)
    let synAck = RespondingTarget().header(
        seq: 0xDEAD_BEEF, ack: 1001, [.syn, .ack],
        options: TCPOptions(
            maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
            timestamp: .init(value: 5, echoReply: 6)))
    let data = RespondingTarget().header(seq: 1, ack: 2, [.ack, .psh], length: 1448)
    return [
        .hello(version: 1), .hello(version: 0xFFFF), .welcome(version: 1),
        .register(key), .unregister(key), .register(Lab.key),
        .response(synAck), .response(data), .heartbeat,
        .challenge(Array(0..<32)), .proof(Array(repeating: 0xAB, count: 32)),
        .compare(key), .compareConfig(maskedHeaders: []), .compareConfig(maskedHeaders: ["Date", "X-Request-Id"]),
        .answerPiece(
            AnswerPiece(
                key: key, sequenceOffset: 0xFFFF_FFF0, acknowledgmentOffset: 77, length: 1448, digestedLength: 1400,
                crc: 0xDEAD_BEEF,
                flags: [], stampMicroseconds: 0x0123_4567_89AB_CDEF, head: Array("HTTP/1.1 200 OK\r\n".utf8))),
        .answerPiece(
            AnswerPiece(
                key: key, sequenceOffset: 5, acknowledgmentOffset: 0, length: 0, crc: 0, flags: [.rst],
                stampMicroseconds: 1, head: [])),
        .answerPiece(
            AnswerPiece(
                key: key, sequenceOffset: 0, acknowledgmentOffset: 1, length: 200, crc: 1, flags: [.fin],
                stampMicroseconds: 2, head: Array(repeating: 0x41, count: AnswerPiece.headLimit))),
        .clockProbe(sentMicroseconds: 0), .clockProbe(sentMicroseconds: 0xFEDC_BA98_7654_3210),
        .clockEcho(sentMicroseconds: 0x0123_4567_89AB_CDEF, stampMicroseconds: UInt64.max),
    ] + GoodbyeReason.allCases.map { .goodbye($0) }
        + RegistrationRefusal.allCases.map { .refused(key, $0) }
        + everyIPv6ControlMessage
}()

/// An IPv6 route key: the frames that carry one set flag 0x01 and take 36 bytes for it.
let ipv6Key = RouteKey(
    clientAddress: .v6(IPv6Address("fd00:1::10")!), clientPort: 0xFFFE,
    targetAddress: .v6(IPv6Address("fd00:2:ffff::2")!), targetPort: 1)

/// The messages of version 4 that carry IPv6: every key-bearing kind, and a response.
let everyIPv6ControlMessage: [ControlMessage] = {
    let synAck = ResponseHeader(
        packetPrefix: OutgoingSegment(
            source: ipv6Key.targetAddress, destination: ipv6Key.clientAddress, sourcePort: 1, destinationPort: 0xFFFE,
            sequence: SequenceNumber(7), acknowledgment: SequenceNumber(8), flags: [.syn, .ack], window: 65535,
            options: TCPOptions(maximumSegmentSize: 1440, windowScale: 7, sackPermitted: true)
        ).encode())!
    return [
        .register(ipv6Key), .unregister(ipv6Key), .compare(ipv6Key), .response(synAck),
        .answerPiece(
            AnswerPiece(
                key: ipv6Key, sequenceOffset: 9, acknowledgmentOffset: 10, length: 1400, digestedLength: 1300,
                crc: 0xCAFE_F00D, flags: [.fin], stampMicroseconds: UInt64.max,
                head: Array(repeating: 0x42, count: AnswerPiece.headLimit))),
    ] + RegistrationRefusal.allCases.map { .refused(ipv6Key, $0) }
}()

/// Decodes everything `decoder` holds.
private func drain(_ decoder: inout ControlDecoder) throws(ControlProtocolError) -> [ControlMessage] {
    var messages: [ControlMessage] = []
    while let message = try decoder.next() { messages.append(message) }
    return messages
}

/// The error decoding `bytes` (fed whole) ends with; nil (and a test failure) if none. Decoded
/// both ways (`next` and tcpcopy's `nextEvent`), which must fail alike.
private func failure(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> ControlProtocolError? {
    var decoder = ControlDecoder()
    decoder.append(bytes)
    var events = ControlDecoder()
    events.append(bytes)
    do {
        let messages = try drain(&decoder)
        Issue.record("decoded \(messages) without an error", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(decoder.failure == error, sourceLocation: sourceLocation)
        #expect(throws: error, sourceLocation: sourceLocation) { while try events.nextEvent() != nil {} }
        #expect(events.failure == error, sourceLocation: sourceLocation)
        // A failed stream stays failed.
        #expect(throws: error, sourceLocation: sourceLocation) { try events.nextEvent() }
        return error
    }
}

/// A frame with the given header fields and a correct checksum over them and `body`.
private func frame(type: UInt8, flags: UInt8 = 0, body: [UInt8], length: Int? = nil) -> [UInt8] {
    let length = length ?? body.count
    var bytes: [UInt8] = [0x54, 0x43, type, flags, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0]
    let sum = referenceChecksum(Array(bytes[0..<6]) + body)
    bytes[6] = UInt8(sum >> 8)
    bytes[7] = UInt8(sum & 0xFF)
    return bytes + body
}

@Suite struct ControlCodecTests {
    @Test(arguments: everyControlMessage)
    func roundTrips(_ message: ControlMessage) throws {
        let bytes = ControlEncoder.encode(message)
        var decoder = ControlDecoder()
        decoder.append(bytes)
        #expect(try decoder.next() == message)
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedCount == 0)
    }

    /// tcpcopy's way of reading: a response as its packet, every other message as itself.
    @Test(arguments: everyControlMessage)
    func decodesAsAnEvent(_ message: ControlMessage) throws {
        var decoder = ControlDecoder()
        decoder.append(ControlEncoder.encode(message) + ControlEncoder.encode(.heartbeat))
        switch (try decoder.nextEvent(), message) {
        case (.response(let packet)?, .response(let header)): #expect(packet == header.packet)
        case (.message(let decoded)?, _): #expect(decoded == message)
        case (let event, _): Issue.record("\(message) decoded as \(String(describing: event))")
        }
        guard case .message(.heartbeat)? = try decoder.nextEvent() else {
            Issue.record("the frame after it was not read")
            return
        }
        #expect(try decoder.nextEvent() == nil)
        #expect(decoder.bufferedCount == 0)
    }

    @Test func registerFrameLayout() {
        let key = RouteKey(
            clientAddress: .v4(IPv4Address(192, 168, 1, 10)), clientPort: 40000,
            targetAddress: .v4(IPv4Address(10, 0, 0, 2)), targetPort: 80)
        let body: [UInt8] = [192, 168, 1, 10, 0x9C, 0x40, 10, 0, 0, 2, 0, 80]
        #expect(ControlEncoder.encode(.register(key)) == frame(type: 4, body: body))
        #expect(ControlEncoder.encode(.unregister(key)) == frame(type: 5, body: body))
    }

    @Test func fixedFrameLayouts() {
        #expect(ControlEncoder.encode(.hello(version: 1)) == frame(type: 1, body: [0, 1]))
        #expect(ControlEncoder.encode(.welcome(version: 1)) == frame(type: 2, body: [0, 1]))
        #expect(ControlEncoder.encode(.goodbye(.protocolError)) == frame(type: 3, body: [0, 3]))
        #expect(ControlEncoder.encode(.goodbye(.notAllowed)) == frame(type: 3, body: [0, 4]))
        #expect(ControlEncoder.encode(.heartbeat) == frame(type: 7, body: []))
        #expect(ControlEncoder.encode(.heartbeat).count == 8)
    }

    @Test func responseBodyIsTheHeadersExactly() {
        let header = RespondingTarget().header(seq: 1, ack: 2, .ack, length: 500)
        #expect(header.bytes.count == 40)
        #expect(ControlEncoder.encode(.response(header)) == frame(type: 6, body: header.bytes))
        // The same frame from raw header bytes (intercept's path), after what is already there.
        var buffer: [UInt8] = [9, 9]
        header.bytes.withUnsafeBytes { ControlEncoder.encodeResponse(headers: $0, into: &buffer) }
        #expect(buffer == [9, 9] + frame(type: 6, body: header.bytes))
        // The total length still tells how much the target sent.
        #expect(Array(header.bytes[2..<4]) == [0x02, 0x1C])
        #expect(header.packet.payloadLength == 500)
    }

    @Test func largestResponseBodyRoundTrips() throws {
        // 60 bytes of IP header (40 of options) and 60 of TCP header (40 of options): 120.
        var bytes = RespondingTarget().header(seq: 9, ack: 10, .ack, length: 1000).bytes
        bytes[0] = 0x4F
        bytes.insert(contentsOf: [UInt8](repeating: 1, count: 40), at: 20)
        bytes[60 + 12] = 0xF0
        bytes.append(contentsOf: [UInt8](repeating: 1, count: 40))
        bytes[2] = UInt8((1120 as Int) >> 8)
        bytes[3] = UInt8((1120 as Int) & 0xFF)
        let header = try #require(ResponseHeader(bytes: bytes))
        #expect(header.packet.headerLength == 120)
        #expect(header.packet.payloadLength == 1000)
        var decoder = ControlDecoder()
        decoder.append(ControlEncoder.encode(.response(header)))
        let decoded = try decoder.next()
        #expect(decoded == .response(header))
    }

    @Test func headerBytesHoldUpTo120BytesAndCompareByContent() throws {
        let bytes = (0..<120).map { UInt8($0) }
        let whole = try #require(HeaderBytes(bytes))
        #expect(whole.withUnsafeBytes { Array($0) } == bytes)
        #expect(HeaderBytes(bytes + [0]) == nil)
        // Made from an array or from a slice of a longer one: the same value, the same hash.
        let fromArray = try #require(HeaderBytes(Array(bytes[10..<62])))
        let fromSlice = try #require(HeaderBytes(bytes[10..<62]))
        #expect(fromArray == fromSlice)
        #expect(fromArray.hashValue == fromSlice.hashValue)
        #expect(fromArray.count == 52)
        #expect(fromArray != HeaderBytes(bytes[10..<61]))
        #expect(fromArray != HeaderBytes(bytes[11..<63]))
    }

    @Test func encodeIntoAppends() {
        var buffer: [UInt8] = [0xEE]
        ControlEncoder.encode(.heartbeat, into: &buffer)
        ControlEncoder.encode(.hello(version: 1), into: &buffer)
        #expect(buffer == [0xEE] + frame(type: 7, body: []) + frame(type: 1, body: [0, 1]))
    }

    @Test func unknownGoodbyeReasonDecodesAsUnknown() throws {
        var decoder = ControlDecoder()
        decoder.append(frame(type: 3, body: [0x12, 0x34]))
        #expect(try decoder.next() == .goodbye(.unknown))
    }

    // MARK: - Corruption

    @Test func badMagic() {
        #expect(failure(frame(type: 7, body: []).replacing(at: 1, with: 0x44)) == .badMagic(0x5444))
        // Two bytes are enough to know.
        #expect(failure([0x45, 0x00]) == .badMagic(0x4500))
    }

    @Test(arguments: [0, 16, 17, 0xFF] as [UInt8])
    func unknownType(_ type: UInt8) {
        #expect(failure(frame(type: type, body: [])) == .unknownType(type))
    }

    @Test func ipv6KeyFrameLayout() {
        let bytes = ControlEncoder.encode(.register(ipv6Key))
        #expect(Array(bytes[2..<6]) == [4, 0x01, 0, 36])
        #expect(Array(bytes[8..<24]) == IPv6Address("fd00:1::10")!.bytes)
        #expect(Array(bytes[24..<26]) == [0xFF, 0xFE])
        #expect(Array(bytes[26..<42]) == IPv6Address("fd00:2:ffff::2")!.bytes)
        #expect(Array(bytes[42..<44]) == [0, 1])
        // An IPv4 key keeps version 3's 12 bytes and no flag.
        #expect(Array(ControlEncoder.encode(.register(Lab.key))[2..<6]) == [4, 0, 0, 12])
    }

    @Test func ipv6FlagOnlyOnKeyFramesAndWithTheirLength() {
        // The flag on a frame without a key is corruption.
        #expect(failure(frame(type: 7, flags: 0x01, body: [])) == .badFlags(1))
        #expect(failure(frame(type: 6, flags: 0x01, body: RespondingTarget().header(seq: 1, ack: 1, .ack).bytes)) == .badFlags(1))
        // A key frame with the flag must have the IPv6 length, and without it the IPv4 one.
        #expect(failure(frame(type: 4, flags: 0x01, body: [UInt8](repeating: 1, count: 12))) == .badLength(type: 4, length: 12))
        #expect(failure(frame(type: 4, body: [UInt8](repeating: 1, count: 36))) == .badLength(type: 4, length: 36))
        #expect(failure(frame(type: 10, flags: 0x01, body: [UInt8](repeating: 1, count: 14))) == .badLength(type: 10, length: 14))
        #expect(failure(frame(type: 4, flags: 0x03, body: [UInt8](repeating: 1, count: 36))) == .badFlags(3))
    }

    @Test func nonZeroFlags() {
        #expect(failure(frame(type: 7, flags: 1, body: [])) == .badFlags(1))
        #expect(failure(frame(type: 1, flags: 0x80, body: [0, 1])) == .badFlags(0x80))
    }

    @Test(
        arguments: [
            (1, 3), (1, 0), (2, 1), (3, 4), (4, 11), (4, 13), (5, 0), (6, 0), (6, 39), (6, 121), (6, 0xFFFF), (7, 1),
            (8, 31), (8, 33), (9, 0), (9, 64), (10, 12), (10, 15),
        ] as [(UInt8, Int)])
    func wrongLengthForType(_ type: UInt8, _ length: Int) {
        // The header alone is enough: the decoder does not wait for a body it will refuse.
        let header = Array(frame(type: type, body: [], length: length).prefix(8))
        #expect(failure(header) == .badLength(type: type, length: length))
    }

    @Test func oversizeResponseBody() {
        let body = [UInt8](repeating: 0, count: 200)
        #expect(failure(frame(type: 6, body: body)) == .badLength(type: 6, length: 200))
    }

    @Test func flippedBodyByte() {
        for message in everyControlMessage {
            let bytes = ControlEncoder.encode(message)
            for index in 8..<bytes.count {
                #expect(failure(bytes.replacing(at: index, with: bytes[index] ^ 0x20)) == .badChecksum)
            }
        }
    }

    @Test func flippedChecksumByte() {
        let bytes = ControlEncoder.encode(.register(Lab.key))
        #expect(failure(bytes.replacing(at: 6, with: bytes[6] ^ 1)) == .badChecksum)
        #expect(failure(bytes.replacing(at: 7, with: bytes[7] ^ 0x80)) == .badChecksum)
    }

    @Test func responseBodyThatIsNotIPv4TCP() {
        #expect(failure(frame(type: 6, body: [UInt8](repeating: 0, count: 40))) == .badBody(type: 6))
        // A UDP header behind a valid IPv4 header.
        var udp = RespondingTarget().header(seq: 1, ack: 1, .ack).bytes
        udp[9] = 17
        #expect(failure(frame(type: 6, body: udp)) == .badBody(type: 6))
        // Valid headers with four stray bytes after them: the body must be the headers exactly.
        let extra = RespondingTarget().header(seq: 1, ack: 1, .ack).bytes + [0, 0, 0, 0]
        #expect(failure(frame(type: 6, body: extra)) == .badBody(type: 6))
        // A data offset claiming options the body does not hold.
        var short = RespondingTarget().header(seq: 1, ack: 1, .ack).bytes
        short[32] = 0x60
        #expect(failure(frame(type: 6, body: short)) == .badBody(type: 6))
    }

    /// intercept encodes its pieces from the packet (`encodeAnswerPiece`, no head array): the
    /// very frames `encode(.answerPiece)` makes, which tcpcopy decodes back to the same piece.
    @Test func answerPieceFromThePacketIsTheSameFrame() throws {
        for case .answerPiece(let piece) in everyControlMessage {
            // The head somewhere inside a larger packet, as the reporter leaves it.
            let packet = [UInt8](repeating: 0xEE, count: 40) + piece.head + [0xEE, 0xEE]
            let reported = ReportedPiece(
                key: piece.key, sequenceOffset: piece.sequenceOffset, acknowledgmentOffset: piece.acknowledgmentOffset,
                length: piece.length, digestedLength: piece.digestedLength, crc: piece.crc, flags: piece.flags,
                stampMicroseconds: piece.stampMicroseconds, head: 40..<(40 + piece.head.count),
                startsAnswer: piece.startsAnswer)
            var direct: [UInt8] = [1, 2, 3]
            packet.withUnsafeBytes {
                ControlEncoder.encodeAnswerPiece(
                    reported, head: UnsafeRawBufferPointer(rebasing: $0[reported.head]), into: &direct)
            }
            var viaMessage: [UInt8] = [1, 2, 3]
            ControlEncoder.encode(.answerPiece(piece), into: &viaMessage)
            #expect(direct == viaMessage)
            var decoder = ControlDecoder()
            decoder.append(direct[3...])
            #expect(try decoder.next() == .answerPiece(piece))
            let copied = packet.withUnsafeBytes {
                reported.answerPiece(head: UnsafeRawBufferPointer(rebasing: $0[reported.head]))
            }
            #expect(copied == piece)
        }
    }

    @Test func errorsDescribeThemselves() {
        #expect(ControlProtocolError.badMagic(0x4500).description.contains("0x4500"))
        #expect(ControlProtocolError.unknownType(9).description.contains("9"))
        #expect(ControlProtocolError.badLength(type: 6, length: 121).description.contains("121"))
        #expect(!ControlProtocolError.badChecksum.description.isEmpty)
    }
}

extension Array where Element == UInt8 {
    func replacing(at index: Int, with value: UInt8) -> [UInt8] {
        var copy = self
        copy[index] = value
        return copy
    }
}

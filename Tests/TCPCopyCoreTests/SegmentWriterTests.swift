import Testing

@testable import TCPCopyCore

@Suite struct SegmentWriterTests {
    static let client = CapturedClient()

    static func writer(timestamp: UInt32? = nil) -> SegmentWriter {
        let options = TCPOptions(
            maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
            timestamp: timestamp.map { .init(value: $0, echoReply: 0) })
        return SegmentWriter(key: Lab.key, syn: client.packet(seq: 1000, .syn, options: options).packet)
    }

    static func ack(timestamp: UInt32?) -> TCPPacket {
        let options = TCPOptions(timestamp: timestamp.map { .init(value: $0, echoReply: 0) })
        return client.packet(seq: 1001, ack: 5001, .ack, options: options).packet
    }

    @Test func theSynKeepsTheClientsOptionsButSack() {
        let syn = Self.writer(timestamp: 5).syn(target: TargetStream())
        #expect(syn.sequence == SequenceNumber(1000))
        #expect(syn.flags == .syn)
        let options = TCPOptions(maximumSegmentSize: 1460, windowScale: 7, timestamp: .init(value: 5, echoReply: 0))
        #expect(syn.options == options)
    }

    @Test func theClientsTimestampNeverGoesBackwards() {
        var writer = Self.writer(timestamp: 100)
        writer.noteTimestamp(of: Self.ack(timestamp: 90))
        #expect(writer.clientTimestamp == 100)
        writer.noteTimestamp(of: Self.ack(timestamp: 110))
        #expect(writer.clientTimestamp == 110)
        writer.noteTimestamp(of: Self.ack(timestamp: nil))
        #expect(writer.clientTimestamp == 110)
    }

    @Test func aLargeSegmentIsSplitAndOnlyTheLastPieceCarriesPshAndFin() {
        var target = TargetStream()
        let synAck = RespondingTarget().header(
            seq: 700_000, ack: 1001, [.syn, .ack], options: TCPOptions(maximumSegmentSize: 1000)
        ).packet
        target.learn(from: synAck, synOptions: TCPOptions(maximumSegmentSize: 1460), mtu: 1500)
        let segment = PendingSegment(
            sequence: SequenceNumber(1001), payload: request(2500)[...], isFin: true, clientAck: SequenceNumber(5001))
        var actions: [SessionAction] = []
        Self.writer().split(segment, target: target, into: &actions)
        #expect(
            actions == [
                .send(toTarget(seq: 1001, ack: 700_001, .ack, payload: Array(request(2500)[0..<1000]))),
                .send(toTarget(seq: 2001, ack: 700_001, .ack, payload: Array(request(2500)[1000..<2000]))),
                .send(toTarget(seq: 3001, ack: 700_001, [.ack, .psh, .fin], payload: Array(request(2500)[2000...]))),
            ])
    }
}

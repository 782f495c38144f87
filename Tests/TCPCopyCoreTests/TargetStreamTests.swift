import Testing

@testable import TCPCopyCore

@Suite struct TargetStreamTests {
    static let target = RespondingTarget()
    static let timestamps = TCPOptions(
        maximumSegmentSize: 1460, windowScale: 7, timestamp: .init(value: 9, echoReply: 0))

    static func packet(
        seq: UInt32, _ flags: TCPFlags = .ack, length: Int = 0, options: TCPOptions = TCPOptions(),
        window: UInt16 = 65535
    ) -> TCPPacket {
        target.header(seq: seq, ack: 1001, flags, length: length, options: options, window: window).packet
    }

    /// Learned from a SYN-ACK (ISN 700000, MSS 1460, scale 7, timestamps) answering such a SYN.
    static func learned(mtu: Int = 1500) -> TargetStream {
        var stream = TargetStream()
        let synAck = packet(seq: 700_000, [.syn, .ack], options: timestamps, window: 1000)
        stream.learn(from: synAck, synOptions: timestamps, mtu: mtu)
        return stream
    }

    @Test func theHandshakeSetsWhatOurSegmentsSay() {
        let stream = Self.learned()
        #expect(stream.next == SequenceNumber(700_001))
        #expect(stream.timestampsEnabled)
        #expect(stream.timestamp == 9)
        #expect(stream.window == 1000)  // unscaled in the SYN-ACK
        #expect(stream.maximumPayload == 1448)  // less the timestamp option
        #expect(Self.learned(mtu: 576).maximumPayload == 524)
    }

    @Test func laterWindowsAreScaled() {
        var stream = Self.learned()
        stream.update(from: Self.packet(seq: 700_001, window: 100))
        #expect(stream.window == 12_800)
    }

    @Test func newDataIsCountedAndItsAckDelayed() {
        var stream = Self.learned()
        let count = stream.received(
            Self.packet(seq: 700_001, length: 100), afterOurFin: false, now: .zero, delay: 40)
        #expect(count == 100)
        #expect(stream.next == SequenceNumber(700_101))
        #expect(stream.delayedAck.deadline == MonotonicTime(milliseconds: 40))
    }

    @Test func aRepeatedSegmentMakesTheAckDue() {
        var stream = Self.learned()
        _ = stream.received(Self.packet(seq: 700_001, length: 100), afterOurFin: false, now: .zero, delay: 40)
        let count = stream.received(
            Self.packet(seq: 700_001, length: 100), afterOurFin: false, now: MonotonicTime(milliseconds: 5), delay: 40)
        #expect(count == 0)
        #expect(stream.delayedAck.isDue(now: MonotonicTime(milliseconds: 5)))
    }

    @Test func twoFullSegmentsOrAFinAfterOursMakeTheAckDue() {
        var stream = Self.learned()
        _ = stream.received(Self.packet(seq: 700_001, length: 1448), afterOurFin: false, now: .zero, delay: 40)
        #expect(!stream.delayedAck.isDue(now: .zero))
        _ = stream.received(Self.packet(seq: 701_449, length: 1448), afterOurFin: false, now: .zero, delay: 40)
        #expect(stream.delayedAck.isDue(now: .zero))

        var closing = Self.learned()
        _ = closing.received(Self.packet(seq: 700_001, [.fin, .ack]), afterOurFin: true, now: .zero, delay: 40)
        #expect(closing.next == SequenceNumber(700_002))
        #expect(closing.delayedAck.isDue(now: .zero))
    }

    @Test func aResetCountsOnlyWhereTheStreamIs() {
        let stream = Self.learned()
        #expect(stream.admitsReset(at: SequenceNumber(700_001)))
        #expect(stream.admitsReset(at: SequenceNumber(700_001 + (1 << 20) - 1)))
        #expect(!stream.admitsReset(at: SequenceNumber(700_001 + (1 << 20))))
        #expect(!stream.admitsReset(at: SequenceNumber(700_000)))
    }
}

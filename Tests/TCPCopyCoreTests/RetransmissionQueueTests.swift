import Testing

@testable import TCPCopyCore

@Suite struct RetransmissionQueueTests {
    static let tuning = SessionTuning()

    static func segment(_ sequence: UInt32, _ length: Int = 10, fin: Bool = false) -> PendingSegment {
        PendingSegment(
            sequence: SequenceNumber(sequence), payload: request(length)[...], isFin: fin,
            clientAck: SequenceNumber(5001))
    }

    static func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    /// Handshake done at 10 ms (a 10 ms round trip), sending from 1001.
    static func established() -> RetransmissionQueue {
        var queue = RetransmissionQueue(synSequence: SequenceNumber(1000), synTimeout: 1000, now: at(0))
        queue.handshakeCompleted(now: at(10), synSentAt: at(0), tuning: tuning)
        return queue
    }

    @Test func theSynTimerBacksOffAndGivesUp() {
        var queue = RetransmissionQueue(synSequence: SequenceNumber(1000), synTimeout: 1000, now: Self.at(0))
        #expect(queue.deadline == Self.at(1000))
        #expect(queue.bytesInFlight == 1)
        var keepsTrying = queue.expire(now: Self.at(1000), limit: 2, maximum: 5000)
        #expect(keepsTrying)
        #expect(queue.deadline == Self.at(3000))
        keepsTrying = queue.expire(now: Self.at(3000), limit: 2, maximum: 5000)
        #expect(keepsTrying)
        #expect(queue.deadline == Self.at(7000))
        keepsTrying = queue.expire(now: Self.at(7000), limit: 2, maximum: 5000)
        #expect(!keepsTrying)
    }

    @Test func theHandshakeStopsTheTimerAndSamplesTheRoundTrip() {
        let queue = Self.established()
        #expect(queue.deadline == nil)
        #expect(queue.everythingAcknowledged)
        #expect(queue.roundTrip.smoothed == 10)
    }

    @Test func aRepeatedSynGivesNoSample() {
        var queue = RetransmissionQueue(synSequence: SequenceNumber(1000), synTimeout: 1000, now: Self.at(0))
        _ = queue.expire(now: Self.at(1000), limit: 5, maximum: 5000)
        queue.handshakeCompleted(now: Self.at(1010), synSentAt: Self.at(0), tuning: Self.tuning)
        #expect(queue.roundTrip.smoothed == nil)
    }

    @Test func sendingStartsTheTimerAndAcknowledgmentsTrimAndStopIt() {
        var queue = Self.established()
        queue.sent(Self.segment(1001, 100), now: Self.at(20))
        queue.sent(Self.segment(1101, 100), now: Self.at(25))
        #expect(queue.next == SequenceNumber(1201))
        #expect(queue.bytesInFlight == 200)
        let firstDeadline = queue.deadline
        #expect(firstDeadline != nil)
        var resendNow = queue.acknowledge(SequenceNumber(1051), isBare: true, now: Self.at(40), tuning: Self.tuning)
        #expect(!resendNow)
        #expect(queue.segments.first?.sequence == SequenceNumber(1051))
        #expect(queue.segments.first?.payload.count == 50)
        #expect(queue.bytesInFlight == 150)
        #expect(queue.roundTrip.smoothed == 10)  // the probe (ending at 1101) is not acknowledged yet
        resendNow = queue.acknowledge(SequenceNumber(1201), isBare: true, now: Self.at(50), tuning: Self.tuning)
        #expect(!resendNow)
        #expect(queue.segments.isEmpty)
        #expect(queue.deadline == nil)
        #expect(queue.everythingAcknowledged)
    }

    @Test func anAcknowledgmentBeyondWhatWasSentIsIgnored() {
        var queue = Self.established()
        queue.sent(Self.segment(1001), now: Self.at(20))
        let resendNow = queue.acknowledge(SequenceNumber(2000), isBare: true, now: Self.at(30), tuning: Self.tuning)
        #expect(!resendNow)
        #expect(queue.acknowledged == SequenceNumber(1001))
        #expect(queue.segments.count == 1)
    }

    @Test func theThirdBareDuplicateAsksForAResend() {
        var queue = Self.established()
        queue.sent(Self.segment(1001), now: Self.at(20))
        let ack = SequenceNumber(1001)
        // With data: not a duplicate.
        var resendNow = queue.acknowledge(ack, isBare: false, now: Self.at(30), tuning: Self.tuning)
        #expect(!resendNow)
        resendNow = queue.acknowledge(ack, isBare: true, now: Self.at(31), tuning: Self.tuning)
        #expect(!resendNow)
        resendNow = queue.acknowledge(ack, isBare: true, now: Self.at(32), tuning: Self.tuning)
        #expect(!resendNow)
        resendNow = queue.acknowledge(ack, isBare: true, now: Self.at(33), tuning: Self.tuning)
        #expect(resendNow)
        resendNow = queue.acknowledge(ack, isBare: true, now: Self.at(34), tuning: Self.tuning)
        #expect(!resendNow)
        let resent = queue.resend()
        #expect(resent?.sequence == SequenceNumber(1001))
        #expect(queue.retransmissions == 1)
    }

    @Test func aResentSegmentGivesNoSample() {
        var queue = Self.established()
        queue.sent(Self.segment(1001), now: Self.at(20))
        _ = queue.resend()
        _ = queue.acknowledge(SequenceNumber(1011), isBare: true, now: Self.at(500), tuning: Self.tuning)
        #expect(queue.roundTrip.smoothed == 10)
    }

    @Test func dataTimeoutsBackOffToTheMaximumAndGiveUp() {
        var queue = Self.established()
        queue.sent(Self.segment(1001), now: Self.at(100))
        var now = queue.deadline!
        var intervals: [Int64] = []
        while queue.expire(now: now, limit: 4, maximum: 800) {
            intervals.append(queue.deadline! - now)
            now = queue.deadline!
        }
        #expect(intervals == [400, 800, 800, 800])
        #expect(queue.attempts == 5)
    }

    @Test func removeAllKeepsTheCount() {
        var queue = Self.established()
        queue.sent(Self.segment(1001), now: Self.at(20))
        _ = queue.resend()
        queue.removeAll()
        #expect(queue.segments.isEmpty)
        #expect(queue.retransmissions == 1)
    }
}

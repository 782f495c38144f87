import Testing

@testable import TCPCopyCore

@Suite struct ReassemblyQueueTests {
    static func segment(_ sequence: UInt32, _ length: Int = 10, fin: Bool = false) -> PendingSegment {
        PendingSegment(
            sequence: SequenceNumber(sequence), payload: request(length)[...], isFin: fin,
            clientAck: SequenceNumber(5001))
    }

    static func accept(_ segments: PendingSegment..., into queue: inout ReassemblyQueue, at ms: Int64 = 0) {
        for segment in segments {
            queue.accept(segment, now: MonotonicTime(milliseconds: ms), maximumOutOfOrder: 4)
        }
    }

    @Test func inOrderSegmentsAreReadyAndCounted() {
        var queue = ReassemblyQueue(next: SequenceNumber(100))
        Self.accept(Self.segment(100), Self.segment(110, 5), into: &queue)
        #expect(queue.ready.map(\.sequence) == [SequenceNumber(100), SequenceNumber(110)])
        #expect(queue.readyBytes == 15)
        #expect(queue.queuedBytes == 15)
        #expect(queue.next == SequenceNumber(115))
        #expect(queue.gapSince == nil)
        let first = queue.removeFirst()
        #expect(first.sequence == SequenceNumber(100))
        #expect(queue.readyBytes == 5)
    }

    @Test func retransmissionsAreDroppedAndOverlapsTrimmed() {
        var queue = ReassemblyQueue(next: SequenceNumber(100))
        Self.accept(Self.segment(100), Self.segment(100), Self.segment(95, 10), Self.segment(105, 10), into: &queue)
        #expect(queue.ready.map(\.sequence) == [SequenceNumber(100), SequenceNumber(110)])
        #expect(queue.ready.map(\.payload.count) == [10, 5])
        #expect(queue.readyBytes == 15)
        #expect(queue.next == SequenceNumber(115))
    }

    @Test func segmentsBeyondAGapWaitUntilItFills() {
        var queue = ReassemblyQueue(next: SequenceNumber(100))
        Self.accept(Self.segment(120), Self.segment(110), into: &queue, at: 7)
        #expect(queue.isEmpty)
        #expect(queue.queuedBytes == 20)
        #expect(queue.gapSince == MonotonicTime(milliseconds: 7))
        Self.accept(Self.segment(100), into: &queue, at: 9)
        #expect(queue.ready.map(\.sequence) == [SequenceNumber(100), SequenceNumber(110), SequenceNumber(120)])
        #expect(queue.readyBytes == 30)
        #expect(queue.gapSince == nil)
        #expect(queue.next == SequenceNumber(130))
    }

    @Test func outOfOrderSegmentsAreBoundedAndNotDuplicated() {
        var queue = ReassemblyQueue(next: SequenceNumber(100))
        Self.accept(Self.segment(120), Self.segment(120), into: &queue)
        #expect(queue.queuedBytes == 10)
        Self.accept(Self.segment(140), Self.segment(160), Self.segment(180), Self.segment(200), into: &queue)
        #expect(queue.queuedBytes == 40)  // four kept, the fifth dropped
    }

    @Test func nothingIsTakenAfterTheFin() {
        var queue = ReassemblyQueue(next: SequenceNumber(100))
        Self.accept(Self.segment(100, 10, fin: true), Self.segment(111), into: &queue)
        #expect(queue.hasFin)
        #expect(queue.ready.count == 1)
        #expect(queue.next == SequenceNumber(111))
        queue.removeFirst()
        Self.accept(Self.segment(111), into: &queue)
        #expect(queue.isEmpty)
    }

    @Test func unsentKeepsWhatDoesNotEndBeforeThePosition() {
        var queue = ReassemblyQueue(next: SequenceNumber(100))
        Self.accept(Self.segment(100), Self.segment(110), Self.segment(130), into: &queue)
        let stream = queue.unsent(from: SequenceNumber(110))
        #expect(stream.map(\.sequence) == [SequenceNumber(110), SequenceNumber(130)])
        queue.removeAll()
        #expect(queue.isEmpty)
        #expect(queue.queuedBytes == 0)
    }

    @Test func sequenceNumbersWrap() {
        var queue = ReassemblyQueue(next: SequenceNumber(UInt32.max - 4))
        Self.accept(Self.segment(5), Self.segment(UInt32.max - 4), into: &queue)
        #expect(queue.ready.count == 2)
        #expect(queue.next == SequenceNumber(15))
    }
}

import Testing

@testable import TCPCopyCore

@Suite struct SegmentListTests {
    static func segment(_ sequence: UInt32, _ length: Int = 10, fin: Bool = false) -> PendingSegment {
        PendingSegment(
            sequence: SequenceNumber(sequence), payload: request(length)[...], isFin: fin,
            clientAck: SequenceNumber(5001))
    }

    @Test func behavesAsAnArrayOfTheSameSegments() {
        var list = SegmentList()
        var reference: [PendingSegment] = []
        var generator = SeededGenerator(seed: 6)
        for step in 0..<400 {
            switch Int.random(in: 0..<5, using: &generator) {
            case 0, 1:
                let segment = Self.segment(UInt32(step) * 10)
                list.append(segment)
                reference.append(segment)
            case 2 where !reference.isEmpty:
                #expect(list.removeFirst() == reference.removeFirst())
            case 3:
                let limit = SequenceNumber(UInt32(step) * 10) + -Int.random(in: 0..<60, using: &generator)
                list.removeFirst { $0.end <= limit }
                while let first = reference.first, first.end <= limit { reference.removeFirst() }
            case 4 where !reference.isEmpty:
                list[0].trimFront(to: list[0].sequence + 3)
                reference[0].trimFront(to: reference[0].sequence + 3)
            default:
                break
            }
            #expect(Array(list) == reference)
            #expect(list.first == reference.first)
        }
        list.removeAll()
        #expect(list.isEmpty)
    }

    @Test func oneSegmentAtATimeAllocatesNoArray() {
        var list = SegmentList()
        list.append(Self.segment(1))
        list.removeFirst()
        list.append(Self.segment(11, fin: true))
        #expect(list.count == 1)
        #expect(list.first?.isFin == true)
        list.removeFirst { $0.isFin }
        #expect(list.isEmpty)
    }

    /// A lagging copy: thousands queued, consumed from the front while more arrive, through
    /// many compactions.
    @Test func aDeepListConsumedFromTheFrontKeepsItsOrder() {
        var list = SegmentList()
        var next: UInt32 = 0
        var expected: UInt32 = 0
        for round in 0..<50 {
            for _ in 0..<(round % 2 == 0 ? 300 : 100) {
                list.append(Self.segment(next * 10))
                next += 1
            }
            for _ in 0..<150 where !list.isEmpty {
                #expect(list.removeFirst().sequence == SequenceNumber(expected * 10))
                expected += 1
            }
            #expect(list.count == Int(next - expected))
            if let first = list.first { #expect(first.sequence == SequenceNumber(expected * 10)) }
            if !list.isEmpty { #expect(list[list.count - 1].sequence == SequenceNumber((next - 1) * 10)) }
        }
        while !list.isEmpty {
            #expect(list.removeFirst().sequence == SequenceNumber(expected * 10))
            expected += 1
        }
        #expect(expected == next)
    }
}

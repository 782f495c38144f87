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
                list.removeAll { $0.end <= limit }
                reference.removeAll { $0.end <= limit }
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
        list.removeAll { $0.isFin }
        #expect(list.isEmpty)
    }
}

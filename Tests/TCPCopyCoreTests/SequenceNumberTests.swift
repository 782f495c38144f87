import Testing

@testable import TCPCopyCore

@Suite struct SequenceNumberTests {
    @Test func additionWrapsAt2To32() {
        #expect(SequenceNumber(0xFFFF_FFF0) + 0x20 == SequenceNumber(0x10))
        #expect(SequenceNumber(0xFFFF_FFFF) + 1 == SequenceNumber(0))
        #expect(SequenceNumber(5) + (-10) == SequenceNumber(0xFFFF_FFFB))
        #expect(SequenceNumber(100) + 0 == SequenceNumber(100))
        var value = SequenceNumber(0xFFFF_FF00)
        value += 0x1FF
        #expect(value == SequenceNumber(0xFF))
    }

    @Test func differenceIsSignedAndWrapAware() {
        #expect(SequenceNumber(0x10) - SequenceNumber(0xFFFF_FFF0) == 0x20)
        #expect(SequenceNumber(0xFFFF_FFF0) - SequenceNumber(0x10) == -0x20)
        #expect(SequenceNumber(1000) - SequenceNumber(1000) == 0)
        #expect(SequenceNumber(0) - SequenceNumber(0xFFFF_FFFF) == 1)
        #expect(SequenceNumber(0x7FFF_FFFF) - SequenceNumber(0) == Int(Int32.max))
    }

    @Test func orderingAcrossTheWrap() {
        let before = SequenceNumber(0xFFFF_FFF0)
        let after = SequenceNumber(0x10)
        #expect(before < after)
        #expect(before <= after)
        #expect(after > before)
        #expect(after >= before)
        #expect(!(after < before))
        #expect(!(before > after))
        #expect(!(after <= before))
        #expect(!(before >= after))
    }

    @Test func equalValuesAreNeitherBeforeNorAfter() {
        let a = SequenceNumber(0xFFFF_FFFF)
        #expect(a <= a)
        #expect(a >= a)
        #expect(!(a < a))
        #expect(!(a > a))
    }

    @Test func orderingWithinHalfTheSpace() {
        // Up to 2^31 - 1 ahead is "after", whatever the raw values.
        let base = SequenceNumber(0x8000_0010)
        #expect(base + Int(Int32.max) > base)
        #expect(base + (-Int(Int32.max)) < base)
        #expect(SequenceNumber(1) < SequenceNumber(2))
        #expect(SequenceNumber(0x7FFF_FFFF) < SequenceNumber(0x8000_0000))
    }

    @Test func sortsValuesStraddlingTheWrap() {
        let values = [0x20, 0xFFFF_FFF0, 0x0, 0xFFFF_FF00, 0x10, 0xFFFF_FFFF].map { SequenceNumber(UInt32($0)) }
        let sorted = values.sorted { $0 < $1 }
        #expect(sorted.map(\.rawValue) == [0xFFFF_FF00, 0xFFFF_FFF0, 0xFFFF_FFFF, 0x0, 0x10, 0x20])
    }

    @Test func latestPicksTheLaterAcrossTheWrap() {
        let before = SequenceNumber(0xFFFF_FFF0)
        let after = SequenceNumber(0x10)
        #expect(SequenceNumber.latest(before, after) == after)
        #expect(SequenceNumber.latest(after, before) == after)
        #expect(SequenceNumber.latest(after, after) == after)
        #expect(SequenceNumber.latest(SequenceNumber(3), SequenceNumber(7)) == SequenceNumber(7))
    }

    @Test func describesTheRawValue() {
        #expect(SequenceNumber(4_294_967_295).description == "4294967295")
    }

    /// Exactly 2³¹ apart the order is undefined by RFC 1982; ours must still be antisymmetric, so
    /// that `latest` does not depend on argument order.
    @Test func valuesExactlyHalfTheSpaceApart() {
        let a = SequenceNumber(0)
        let b = SequenceNumber(0x8000_0000)
        #expect(!(a < b && b < a))
        #expect(a < b || b < a)
        #expect(SequenceNumber.latest(a, b) == SequenceNumber.latest(b, a))
    }
}

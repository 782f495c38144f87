import Testing

@testable import TCPCopyCore

@Suite struct SlotFlagsTests {
    @Test func countsTheSlotsSetAndGrowsOnlyToSetOne() {
        var flags = SlotFlags()
        flags.set(5, false)
        #expect(flags.count == 0 && !flags.contains(5))
        flags.set(5, true)
        flags.set(5, true)
        flags.set(2, true)
        #expect(flags.count == 2 && flags.contains(5) && flags.contains(2) && !flags.contains(3))
        flags.set(5, false)
        flags.set(5, false)
        flags.set(100, false)
        #expect(flags.count == 1 && !flags.contains(5) && !flags.contains(100))
    }
}

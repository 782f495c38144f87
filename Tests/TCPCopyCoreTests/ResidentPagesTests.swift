import Testing

@testable import TCPCopyCore

@Suite struct ResidentPagesTests {
    private func parse(_ text: String) -> Int? {
        Array(text.utf8).withUnsafeBytes { ResidentPages.parse(statm: $0) }
    }

    @Test func theSecondFieldIsTheResidentSet() {
        #expect(parse("4141 3380 1663 1 0 2019 0\n") == 3380)
        #expect(parse("16349 15588 1663 1 0 14227 0\n") == 15588)
    }

    @Test func twoFieldsAreEnough() {
        #expect(parse("10 7") == 7)
        #expect(parse("10 7\n") == 7)
    }

    @Test func anythingElseIsNoReading() {
        #expect(parse("") == nil)
        #expect(parse("4141") == nil)
        #expect(parse("4141 ") == nil)
        #expect(parse(" 4141 3380") == nil)
        #expect(parse("4141  3380") == nil)
        #expect(parse("4141 33x0 1") == nil)
        #expect(parse("abc 3380") == nil)
        #expect(parse("1 1234567890123456789") == nil)
    }
}

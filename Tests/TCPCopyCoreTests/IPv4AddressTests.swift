import Testing

@testable import TCPCopyCore

@Suite struct IPv4AddressTests {
    @Test func holdsTheValueInHostOrder() {
        #expect(IPv4Address(10, 0, 0, 1).value == 0x0A00_0001)
        #expect(IPv4Address(192, 168, 0, 199).value == 0xC0A8_00C7)
        #expect(IPv4Address(0xC0A8_00C7) == IPv4Address(192, 168, 0, 199))
    }

    @Test(arguments: [
        ("10.0.0.1", 0x0A00_0001 as UInt32), ("0.0.0.0", 0), ("255.255.255.255", 0xFFFF_FFFF),
        ("192.168.0.199", 0xC0A8_00C7), ("1.2.3.4", 0x0102_0304), ("100.10.0.99", 0x640A_0063),
    ])
    func parsesDottedQuads(_ text: String, _ value: UInt32) {
        #expect(IPv4Address(text)?.value == value)
        #expect(IPv4Address(text[...])?.value == value)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "01.2.3.4", "1.2.3.00", "1..3.4",
        "1.2.3.", ".1.2.3", " 1.2.3.4", "1.2.3.4 ", "+1.2.3.4", "1.2.3.-4", "a.b.c.d", "0x1.2.3.4",
        "1000.2.3.4", "١.٢.٣.٤", "1.2.3.4\n",
    ])
    func rejectsAnythingElse(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func formatsAsDottedQuad() {
        #expect(IPv4Address(0x0A00_0001).description == "10.0.0.1")
        #expect(IPv4Address(0).description == "0.0.0.0")
        #expect(IPv4Address(.max).description == "255.255.255.255")
        #expect("\(IPv4Address(192, 168, 0, 199))" == "192.168.0.199")
    }

    @Test func formatThenParseIsIdentity() {
        var generator = SeededGenerator(seed: 4)
        for _ in 0..<1000 {
            let address = IPv4Address(UInt32.random(in: .min ... .max, using: &generator))
            #expect(IPv4Address(address.description) == address)
        }
    }

    @Test func ordersByNumericValue() {
        #expect(IPv4Address(9, 255, 255, 255) < IPv4Address(10, 0, 0, 0))
        #expect(IPv4Address(10, 0, 0, 2) > IPv4Address(10, 0, 0, 1))
        #expect(!(IPv4Address(1, 2, 3, 4) < IPv4Address(1, 2, 3, 4)))
    }
}

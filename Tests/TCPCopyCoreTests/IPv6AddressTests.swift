import Testing

@testable import TCPCopyCore

@Suite struct IPv6AddressTests {
    @Test func holdsGroupsInTwoHalves() {
        let address = IPv6Address(0xFD00, 0x1, 0, 0, 0, 0, 0, 0x2)
        #expect(address.high == 0xFD00_0001_0000_0000)
        #expect(address.low == 2)
        #expect((0..<8).map(address.group) == [0xFD00, 1, 0, 0, 0, 0, 0, 2])
        #expect(address.bytes == [0xFD, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
        #expect(IPv6Address.read(address.bytes, at: 0) == address)
        #expect(IPv6Address.read(address.bytes, at: 1) == nil)
        #expect(MemoryLayout<IPv6Address>.size == 16)
        // An enum of two plain values: no reference, so no allocation to hold one.
        #expect(MemoryLayout<IPAddress>.size == 17)
    }

    /// Text and the canonical form RFC 5952 gives it (§4 and its examples).
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // §4.2.2: one zero group stays
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // §4.2.3: the longest run
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // §4.2.3: the first of equal runs
        ("2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"),
        ("::", "::"), ("::1", "::1"), ("1::", "1::"), ("0:0:0:0:0:0:0:0", "::"),
        ("fd00::", "fd00::"), ("fd00:1::3", "fd00:1::3"), ("fd00:24::2", "fd00:24::2"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"), ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"), ("::FFFF:a00:1", "::ffff:10.0.0.1"),  // §5
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ])
    func parsesAndPrintsCanonically(_ text: String, _ canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
        #expect(IPv6Address(address.description)?.description == canonical)
    }

    @Test(arguments: [
        "", ":", ":::", "1", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "g::1",
        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", ":1::2", "1::2:", "1:2:3:4:5:6:7:", "[::1]",
        "fe80::1%eth0", "fd00::/8", " ::1", "::1 ", "1.2.3.4", "::1.2.3", "::1.2.3.4.5", "::256.0.0.1",
        "1.2.3.4::", "::1.2.3.4:1", "1:2:3:4:5:6:7:1.2.3.4", "::-1", "::+1", "0x1::",
        "1:2:3:4:5:6:7:8:1.2.3.4", "::ffff:01.2.3.4",
    ])
    func refusesAnythingElse(_ text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func mapsAndUnmapsIPv4() {
        let mapped = IPv6Address(mapping: IPv4Address(10, 0, 0, 3))
        #expect(mapped == IPv6Address("::ffff:10.0.0.3"))
        #expect(mapped.mappedIPv4 == IPv4Address(10, 0, 0, 3))
        #expect(IPv6Address("::10.0.0.3")?.mappedIPv4 == nil)
        #expect(IPv6Address("fd00::ffff:a00:3")?.mappedIPv4 == nil)
    }

    @Test func ordersByValue() {
        let sorted = ["fd00::2", "::1", "fd00::10", "2001:db8::"].compactMap(IPv6Address.init).sorted()
        #expect(sorted.map(\.description) == ["::1", "2001:db8::", "fd00::2", "fd00::10"])
    }
}

@Suite struct IPAddressTests {
    @Test func parsesEitherFamily() {
        #expect(IPAddress("10.0.0.3") == .v4(IPv4Address(10, 0, 0, 3)))
        #expect(IPAddress("fd00:1::3") == .v6(IPv6Address(0xFD00, 1, 0, 0, 0, 0, 0, 3)))
        #expect(IPAddress("10.0.0.3")?.family == .ipv4)
        #expect(IPAddress("::1")?.family == .ipv6)
        #expect(IPAddress("[::1]") == nil)
        #expect(IPAddress("10.0.0.256") == nil)
        #expect(IPAddress("") == nil)
    }

    @Test func printsBareBracketedAndAsEndpoint() throws {
        let v6 = try #require(IPAddress("FD00:1:0::3"))
        #expect(v6.description == "fd00:1::3")
        #expect(v6.bracketedDescription == "[fd00:1::3]")
        #expect(v6.endpointDescription(port: 80) == "[fd00:1::3]:80")
        let v4 = try #require(IPAddress("10.0.0.3"))
        #expect(v4.bracketedDescription == "10.0.0.3")
        #expect(v4.endpointDescription(port: 80) == "10.0.0.3:80")
    }

    @Test func familiesStayApartInSetsAndOrder() {
        // ::ffff:10.0.0.3 and 10.0.0.3 are different keys: a session is one family end to end.
        let set: Set<IPAddress> = [
            .v4(IPv4Address(10, 0, 0, 3)), .v6(IPv6Address(mapping: IPv4Address(10, 0, 0, 3))),
            IPAddress("10.0.0.3")!,
        ]
        #expect(set.count == 2)
        let sorted = ["fd00::1", "10.0.0.2", "::1", "10.0.0.1"].compactMap(IPAddress.init).sorted()
        #expect(sorted.map(\.description) == ["10.0.0.1", "10.0.0.2", "::1", "fd00::1"])
    }
}

@Suite struct IPNetworkTests {
    @Test(arguments: [
        ("fd00::/8", "fd00::/8"), ("fd12:3456::/8", "fd00::/8"), ("[fd00::]/8", "fd00::/8"),
        ("[fd00::/8]", "fd00::/8"), ("fd00:1::3", "fd00:1::3"), ("[fd00:1::3]", "fd00:1::3"),
        ("fd00:1::3/128", "fd00:1::3"), ("::/0", "::/0"), ("fd00:1:2:3:4:5:6:7/64", "fd00:1:2:3::/64"),
        ("fd00:1:2:3:ffff::/65", "fd00:1:2:3:8000::/65"), ("10.0.0.3", "10.0.0.3"),
        ("10.1.2.3/24", "10.1.2.0/24"), ("0.0.0.0/0", "0.0.0.0/0"), ("10.0.0.3/32", "10.0.0.3"),
    ])
    func parsesAndMasks(_ text: String, _ canonical: String) throws {
        let network = try #require(IPNetwork(text))
        #expect(network.description == canonical)
        #expect(IPNetwork(canonical) == network)
    }

    @Test(arguments: [
        "", "/8", "fd00::/", "fd00::/129", "fd00::/08", "fd00::/-1", "fd00::/8/8", "[fd00::]8",
        "[fd00::", "fd00::]", "[10.0.0.3]", "[10.0.0.0]/8", "10.0.0.0/33", "[fd00::/8]/8", "[]",
        "[fd00::]/", "fd00::/1000", "10.0.0.0/ 8",
    ])
    func refusesAnythingElse(_ text: String) {
        #expect(IPNetwork(text) == nil)
    }

    @Test func containsHostsOfItsFamilyOnly() throws {
        let ula = try #require(IPNetwork("fd00::/8"))
        #expect(ula.contains(IPAddress("fd00:1::3")!))
        #expect(ula.contains(IPAddress("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")!))
        #expect(!ula.contains(IPAddress("fe00::")!))
        #expect(!ula.contains(IPAddress("fc00::1")!))
        #expect(!ula.contains(IPAddress("10.0.0.3")!))

        let host = try #require(IPNetwork("[fd00:1::3]"))
        #expect(host.contains(IPAddress("fd00:1::3")!))
        #expect(!host.contains(IPAddress("fd00:1::4")!))
        #expect(!host.contains(IPAddress("fd00:1::2")!))

        // A prefix that ends inside the low half.
        let slash96 = try #require(IPNetwork("fd00:1:2:3:4:5::/96"))
        #expect(slash96.contains(IPAddress("fd00:1:2:3:4:5:ffff:ffff")!))
        #expect(!slash96.contains(IPAddress("fd00:1:2:3:4:6::")!))

        let everyV6 = try #require(IPNetwork("::/0"))
        #expect(everyV6.contains(IPAddress("2001:db8::1")!))
        #expect(!everyV6.contains(IPAddress("0.0.0.0")!))

        let v4 = try #require(IPNetwork("10.0.0.0/24"))
        #expect(v4.contains(IPAddress("10.0.0.255")!))
        #expect(!v4.contains(IPAddress("10.0.1.0")!))
        // Mapped addresses are IPv6: callers unmap before asking.
        #expect(!v4.contains(.v6(IPv6Address(mapping: IPv4Address(10, 0, 0, 3)))))
    }

    /// Every prefix length against a host just inside and just outside it.
    @Test func everyIPv6PrefixLengthSplitsWhereItSays() {
        let base = IPv6Address(high: 0xFD12_3456_789A_BCDE, low: 0xF123_4567_89AB_CDEF)
        for length in 0...128 {
            let network = IPNetwork(address: .v6(base), prefixLength: length)
            #expect(network.contains(.v6(base)))
            guard length > 0 else { continue }
            // Flip the last bit inside the prefix: outside.
            let bit = 128 - length
            let flipped =
                bit >= 64
                ? IPv6Address(high: base.high ^ (1 << UInt64(bit - 64)), low: base.low)
                : IPv6Address(high: base.high, low: base.low ^ (1 << UInt64(bit)))
            #expect(!network.contains(.v6(flipped)), "length \(length)")
            // Flip the first bit after it (if any): still inside.
            if length < 128 {
                let after = bit - 1
                let inside =
                    after >= 64
                    ? IPv6Address(high: base.high ^ (1 << UInt64(after - 64)), low: base.low)
                    : IPv6Address(high: base.high, low: base.low ^ (1 << UInt64(after)))
                #expect(network.contains(.v6(inside)), "length \(length)")
            }
        }
    }
}

import Testing

@testable import TCPCopyCore

@Suite struct AllowListTests {
    @Test(arguments: [0, 1, 3, 16, 17, 100, 1000])
    func findsExactlyTheListedAddresses(_ count: Int) {
        var generator = SystemRandomNumberGenerator()
        let listed = (0..<count).map { _ in IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator)) }
        // Duplicates and any order are fine.
        let list = AllowList(listed + listed.prefix(3).reversed())
        #expect(list.isEmpty == (count == 0))
        for address in listed { #expect(list.contains(address)) }
        let members = Set(listed)
        for _ in 0..<1000 {
            let other = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator))
            #expect(list.contains(other) == members.contains(other))
        }
        #expect(list.contains(IPv4Address(0)) == members.contains(IPv4Address(0)))
        #expect(list.contains(IPv4Address(.max)) == members.contains(IPv4Address(.max)))
    }
}

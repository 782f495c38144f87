import Testing

@testable import TCPCopyCore

/// intercept's first IPv6 steps: the allow-lists with bracketed IPv6 entries, the control peer
/// policy with IPv6 prefixes, and the verdict on queued IPv6 packets (ACCEPT allow-listed, DROP
/// and count the rest: no forwarding until the control protocol carries IPv6).
@Suite struct InterceptIPv6Tests {
    typealias Engine = InterceptEngine<Int>
    static let admin6 = IPv6Address("fd00:1::3")!
    static let client6 = IPv6Address("fd00:1::10")!
    static let target6 = IPv6Address("fd00:2::2")!

    func response(to destination: IPv6Address, payload: String = "HTTP/1.1 200 OK\r\n") -> [UInt8] {
        OutgoingSegment(
            source: .v6(Self.target6), destination: .v6(destination), sourcePort: 80, destinationPort: 40000,
            sequence: SequenceNumber(1), acknowledgment: SequenceNumber(2), flags: [.psh, .ack], window: 502,
            payload: Array(payload.utf8)[...]
        ).encode()
    }

    func makeEngine() -> Engine {
        Engine(
            allowList: [IPv4Address(10, 9, 9, 9)], ipv6AllowList: [Self.admin6],
            limits: .init(routeIdleMilliseconds: 120_000))
    }

    @Test func mixedAllowListSplitsFamilies() throws {
        let list = try ConfigurationParser.mixedAllowList(combining: ["[fd00:1::3],10.0.0.3", "10.0.0.4:[FD00:1::3]"])
        #expect(list.ipv4 == [IPv4Address(10, 0, 0, 3), IPv4Address(10, 0, 0, 4)])
        #expect(list.ipv6 == [Self.admin6])
        let bracketsOnly = try ConfigurationParser.mixedAllowList(combining: ["[fd00::1]:[fd00::2]"])
        #expect(bracketsOnly.ipv6 == [IPv6Address("fd00::1")!, IPv6Address("fd00::2")!])
    }

    @Test func ipv4ListsParseAsBefore() throws {
        for text in ["10.1.0.3:10.1.0.4", "10.1.0.3,10.1.0.4", "10.1.0.3 , 10.1.0.4"] {
            let list = try ConfigurationParser.mixedAllowList(combining: [text])
            #expect(list.ipv4 == (try ConfigurationParser.allowList(text)) && list.ipv6.isEmpty)
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationParser.mixedAllowList(combining: ["10.1.0.3::10.1.0.4"])
        }
        #expect(try ConfigurationParser.mixedAllowList(combining: []) == .init())
    }

    @Test func refusesWrongIPv6Lists() {
        for text in ["[fd00::1", "[fd00::1],,10.0.0.1", "[10.0.0.1]", "[fd00::zz]", "[fd00::1],fd00::2"] {
            #expect(throws: ConfigurationError.self, "\(text)") {
                try ConfigurationParser.mixedAllowList(combining: [text])
            }
        }
        #expect(throws: ConfigurationError.networkInHostList("[fd00::]/64", list: .allowList)) {
            try ConfigurationParser.mixedAllowList(combining: ["[fd00::]/64"])
        }
        #expect(throws: ConfigurationError.networkInHostList("10.0.0.0/24", list: .allowList)) {
            try ConfigurationParser.mixedAllowList(combining: ["[fd00::1],10.0.0.0/24"])
        }
    }

    @Test func tcpcopyAllowTakesIPv6Prefixes() throws {
        let parsed = try ControlPeerPolicy.parseMixedAllowLists([
            "[fd00:77:1::]/64,10.0.0.0/24", "[fd00:9::5]", "10.0.0.1",
        ])
        #expect(parsed.ipv4 == [IPv4Network("10.0.0.0/24")!, IPv4Network("10.0.0.1")!])
        #expect(parsed.ipv6 == [IPNetwork("fd00:77:1::/64")!, IPNetwork("[fd00:9::5]")!])
        let policy = ControlPeerPolicy(networks: parsed.ipv4, ipv6Networks: parsed.ipv6, source: .listed)
        #expect(policy.allows(IPv6Address("fd00:77:1::99")!))
        #expect(policy.allows(IPv6Address("fd00:9::5")!))
        #expect(!policy.allows(IPv6Address("fd00:9::6")!))
        #expect(!policy.allows(IPv6Address("fd00:77:2::1")!))
        #expect(policy.allows(IPv6Address(mapping: IPv4Address(10, 0, 0, 7))), "mapped peers are judged as IPv4")
        #expect(!policy.allows(IPv6Address(mapping: IPv4Address(10, 0, 1, 7))))
        #expect(policy.description == "10.0.0.0/24,10.0.0.1,[fd00:77:1::]/64,[fd00:9::5]")
        #expect(throws: PeerListError.self) { try ControlPeerPolicy.parseMixedAllowLists(["[fd00::1],fd00::2"]) }
        // The IPv4 forms are read as before.
        #expect(
            try ControlPeerPolicy.parseMixedAllowLists(["10.0.0.1:10.0.0.2"]).ipv4
                == ControlPeerPolicy.parseAllowLists(["10.0.0.1:10.0.0.2"]))
    }

    @Test func localNetworksPolicyAllowsIPv6LoopbackAndInterfaces() {
        let policy = ControlPeerPolicy.localNetworks([], ipv6InterfaceNetworks: [IPNetwork("fd00:77:1::/64")!])
        #expect(policy.allows(.loopback))
        #expect(policy.allows(IPv6Address("fd00:77:1::2")!))
        #expect(!policy.allows(IPv6Address("fd00:77:3::2")!))
    }

    @Test func acceptsAllowListedIPv6AndDropsTheRest() {
        var engine = makeEngine()
        let now = MonotonicTime(milliseconds: 0)
        #expect(engine.queued(response(to: Self.admin6), now: now).0 == .accept)
        let (verdict, forward) = engine.queued(response(to: Self.client6), now: now)
        #expect(verdict == .drop && forward == nil)
        #expect(engine.counters.ipv6Accepted == 1 && engine.counters.ipv6Dropped == 1)
        #expect(engine.counters.accepted == 1 && engine.counters.dropped == 1 && engine.counters.malformed == 0)
        #expect(engine.counters.queued == 2 && engine.routeCount == 0, "nothing held nor routed")
        #expect(engine.counters.line.text.contains("ipv6_accepted=1 ipv6_dropped=1"))
    }

    @Test func unparsableIPv6IsDroppedUnlessAllowListed() {
        var engine = makeEngine()
        let now = MonotonicTime(milliseconds: 0)
        var toAdmin = response(to: Self.admin6)
        toAdmin[6] = 17  // UDP: not TCP, still allow-listed
        #expect(engine.queued(toAdmin, now: now).0 == .accept)
        var toClient = response(to: Self.client6)
        toClient[6] = 17
        #expect(engine.queued(toClient, now: now).0 == .drop)
        #expect(engine.queued(Array(response(to: Self.client6).prefix(30)), now: now).0 == .drop)
        // As for IPv4, what goes to an allow-listed host is accepted, not counted malformed.
        #expect(engine.counters.malformed == 2 && engine.counters.ipv6Dropped == 2 && engine.counters.ipv6Accepted == 1)
    }
}

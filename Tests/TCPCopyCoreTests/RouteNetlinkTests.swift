import Testing

@testable import TCPCopyCore

/// Hand-built rtnetlink messages, laid out as the kernel writes them (host byte order for the
/// netlink fields, network order for addresses). These tests assume a little-endian host, as
/// every machine the project runs on is.
@Suite struct RouteNetlinkTests {
    private let target4 = IPv4Address(10, 77, 2, 2)
    private let gateway4 = IPv4Address(10, 77, 2, 254)
    private var target: IPAddress { .v4(target4) }
    private var gateway: IPAddress { .v4(gateway4) }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
    private func be(_ address: IPv4Address) -> [UInt8] {
        (0..<4).reversed().map { UInt8(address.value >> (8 * $0) & 0xFF) }
    }

    private func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        var bytes = le16(UInt16(4 + value.count)) + le16(type) + value
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    private func message(type: UInt16, sequence: UInt32, body: [UInt8]) -> [UInt8] {
        le32(UInt32(16 + body.count)) + le16(type) + le16(0) + le32(sequence) + le32(4242) + body
    }

    /// RTM_NEWROUTE as `ip route get` receives it: rtmsg (family, dst_len 32, ..., table main,
    /// protocol, scope, type) then attributes.
    private func routeReply(sequence: UInt32, type: UInt8 = 1, gateway: IPv4Address?, interface: UInt32) -> [UInt8] {
        var body: [UInt8] = [2, 32, 0, 0, 254, 0, 0, type] + le32(0x200)  // RTM_F_CLONED
        body += attribute(15, le32(254))  // RTA_TABLE
        body += attribute(1, be(target4))  // RTA_DST
        body += attribute(4, le32(interface))  // RTA_OIF
        if let gateway { body += attribute(5, be(gateway)) }
        body += attribute(7, be(IPv4Address(10, 77, 2, 1)))  // RTA_PREFSRC
        return message(type: 24, sequence: sequence, body: body)
    }

    private func neighbourReply(sequence: UInt32, state: UInt16, mac: [UInt8]?) -> [UInt8] {
        var body: [UInt8] = [2, 0, 0, 0] + le32(3) + le16(state) + [0, 1]
        body += attribute(1, be(target4))
        if let mac { body += attribute(2, mac) }
        body += attribute(3, [UInt8](repeating: 0, count: 16))  // NDA_CACHEINFO
        return message(type: 28, sequence: sequence, body: body)
    }

    private func errorReply(sequence: UInt32, code: Int32) -> [UInt8] {
        message(type: 2, sequence: sequence, body: le32(UInt32(bitPattern: code)) + [UInt8](repeating: 0, count: 16))
    }

    @Test func routeRequestAsksForOneAddressThroughOneInterface() {
        let bytes = RouteNetlink.routeRequest(to: target, interfaceIndex: 3, sequence: 7)
        #expect(
            bytes
                == le32(44) + le16(26) + le16(1) + le32(7) + le32(0)
                + [2, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
                + [8, 0, 1, 0, 10, 77, 2, 2]
                + [8, 0, 4, 0, 3, 0, 0, 0])
    }

    @Test func neighbourRequestCarriesOnlyTheDestination() {
        let bytes = RouteNetlink.neighbourRequest(for: target, interfaceIndex: 3, sequence: 9)
        // The kernel refuses a get whose state, flags, type or padding are not zero.
        #expect(
            bytes
                == le32(36) + le16(30) + le16(1) + le32(9) + le32(0)
                + [2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]
                + [8, 0, 1, 0, 10, 77, 2, 2])
    }

    @Test func resolveRequestIsANewNeighbourWithUse() {
        let bytes = RouteNetlink.resolveRequest(for: target, interfaceIndex: 3, sequence: 11)
        // NLM_F_REQUEST | ACK | REPLACE | CREATE; state NUD_NONE; flags NTF_USE.
        #expect(
            bytes
                == le32(36) + le16(28) + le16(0x505) + le32(11) + le32(0)
                + [2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1, 0]
                + [8, 0, 1, 0, 10, 77, 2, 2])
    }

    @Test func onLinkRouteMakesTheDestinationTheNextHop() {
        let answer = RouteNetlink.parseAnswer(routeReply(sequence: 5, gateway: nil, interface: 3), sequence: 5)
        #expect(answer == .route(RouteAnswer(type: 1, outputInterface: 3, gateway: nil)))
        if case .route(let route) = answer { #expect(route.nextHop(for: target) == target) }
    }

    @Test func routeThroughAGatewayMakesTheGatewayTheNextHop() {
        let answer = RouteNetlink.parseAnswer(routeReply(sequence: 5, gateway: gateway4, interface: 3), sequence: 5)
        guard case .route(let route) = answer else {
            Issue.record("expected a route, got \(answer)")
            return
        }
        #expect(route.nextHop(for: target) == gateway)
        #expect(route.outputInterface == 3)
    }

    @Test func unreachableRouteKeepsItsType() {
        let answer = RouteNetlink.parseAnswer(routeReply(sequence: 1, type: 7, gateway: nil, interface: 3), sequence: 1)
        #expect(answer == .route(RouteAnswer(type: 7, outputInterface: 3, gateway: nil)))
    }

    @Test func reachableNeighbourGivesItsMAC() {
        let mac: [UInt8] = [0x02, 0x42, 0xAC, 0x11, 0x00, 0x02]
        let answer = RouteNetlink.parseAnswer(neighbourReply(sequence: 2, state: 0x02, mac: mac), sequence: 2)
        guard case .neighbour(let entry) = answer else {
            Issue.record("expected a neighbour, got \(answer)")
            return
        }
        #expect(entry.usableAddress == LinkAddress(mac))
        #expect(entry.state.isConfirmed)
        #expect(entry.usableAddress?.description == "02:42:ac:11:00:02")
    }

    @Test func staleNeighbourIsUsableButNotConfirmed() {
        let mac: [UInt8] = [2, 0, 0, 0, 0, 9]
        guard
            case .neighbour(let entry) = RouteNetlink.parseAnswer(
                neighbourReply(sequence: 2, state: 0x04, mac: mac), sequence: 2)
        else {
            Issue.record("expected a neighbour")
            return
        }
        #expect(entry.usableAddress == LinkAddress(mac))
        #expect(!entry.state.isConfirmed)
    }

    @Test func incompleteAndFailedNeighboursAreNotUsable() {
        for state: UInt16 in [0x01, 0x20, 0x00] {
            let answer = RouteNetlink.parseAnswer(
                neighbourReply(sequence: 3, state: state, mac: state == 0x20 ? [2, 0, 0, 0, 0, 1] : nil), sequence: 3)
            guard case .neighbour(let entry) = answer else {
                Issue.record("expected a neighbour for state \(state), got \(answer)")
                continue
            }
            #expect(entry.usableAddress == nil, "state \(entry.state)")
        }
    }

    @Test func aNeighbourAnswerAsTheKernelSentIt() {
        // RTM_NEWNEIGH for 10.99.0.2 (STALE, NDA_DST, NDA_LLADDR, NDA_PROBES, NDA_CACHEINFO),
        // received from Linux 6.18 in a veth lab.
        let hex =
            "4c0000001c0000000100000075110000020000000200000004000001080001000a6300020a000200aaaf1cef"
            + "334300000800040004000000140003004a0000004a0000004900000001000000"
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        let expected = NeighbourAnswer(state: .stale, linkAddress: LinkAddress([0xAA, 0xAF, 0x1C, 0xEF, 0x33, 0x43]))
        #expect(RouteNetlink.parseAnswer(bytes, sequence: 1) == .neighbour(expected))
    }

    @Test func errorsAndAcknowledgementsAreTold() {
        #expect(RouteNetlink.parseAnswer(errorReply(sequence: 4, code: -2), sequence: 4) == .failure(errno: 2))
        #expect(RouteNetlink.parseAnswer(errorReply(sequence: 4, code: -101), sequence: 4) == .failure(errno: 101))
        #expect(RouteNetlink.parseAnswer(errorReply(sequence: 4, code: 0), sequence: 4) == .acknowledged)
    }

    @Test func answersToEarlierRequestsAreSkipped() {
        let stale = neighbourReply(sequence: 1, state: 0x02, mac: [2, 0, 0, 0, 0, 1])
        let current = errorReply(sequence: 2, code: -2)
        #expect(RouteNetlink.parseAnswer(stale + current, sequence: 2) == .failure(errno: 2))
        #expect(RouteNetlink.parseAnswer(stale, sequence: 2) == .incomplete)
    }

    @Test func truncatedAnswersAreMalformedAtEveryLength() {
        let whole = routeReply(sequence: 5, gateway: gateway4, interface: 3)
        for length in 1..<whole.count {
            // The header's length still says the whole message: cut anywhere, never a trap.
            let answer = RouteNetlink.parseAnswer(Array(whole[0..<length]), sequence: 5)
            if length < 16 {
                #expect(answer == .incomplete)
            } else if case .malformed = answer {
            } else {
                Issue.record("cut at \(length): \(answer)")
            }
        }
    }

    @Test func anAttributeLongerThanItsMessageIsMalformed() {
        var body: [UInt8] = [2, 0, 0, 0] + le32(3) + le16(2) + [0, 1]
        body += le16(40) + le16(2) + [2, 0, 0, 0, 0, 1, 0, 0]  // says 40 bytes, has 12
        let answer = RouteNetlink.parseAnswer(message(type: 28, sequence: 6, body: body), sequence: 6)
        guard case .malformed = answer else {
            Issue.record("expected malformed, got \(answer)")
            return
        }
    }

    @Test func linkAddressesHaveOneToEightBytes() {
        #expect(LinkAddress([]) == nil)
        #expect(LinkAddress([UInt8](repeating: 1, count: 9)) == nil)
        #expect(LinkAddress([1, 2, 3, 4, 5, 6, 7, 8]) != nil)
    }
}

@Suite struct NextHopCacheTests {
    private func at(_ milliseconds: Int64) -> MonotonicTime { MonotonicTime(milliseconds: milliseconds) }
    private let target = IPAddress.v4(IPv4Address(10, 77, 2, 2))
    private let mac = LinkAddress([2, 0, 0, 0, 0, 2])!
    private let newMAC = LinkAddress([2, 0, 0, 0, 0, 3])!

    @Test func unknownDestinationsAreResolvedThenSentUntilTheRefresh() {
        var cache = NextHopCache(refreshMilliseconds: 5000, retryMilliseconds: 1000)
        #expect(cache.lookup(target, now: at(0)) == .resolve)
        cache.resolved(target, address: mac, now: at(0))
        #expect(cache.lookup(target, now: at(4999)) == .send(mac))
        #expect(cache.lookup(target, now: at(5000)) == .sendAndRefresh(mac))
        cache.resolved(target, address: newMAC, now: at(5000))
        #expect(cache.lookup(target, now: at(5001)) == .send(newMAC))
    }

    @Test func aFailedFirstLookupDropsUntilTheRetry() {
        var cache = NextHopCache(refreshMilliseconds: 5000, retryMilliseconds: 1000)
        cache.failed(target, now: at(100))
        #expect(cache.lookup(target, now: at(100)) == .drop)
        #expect(cache.lookup(target, now: at(1099)) == .drop)
        #expect(cache.lookup(target, now: at(1100)) == .resolve)
        #expect(cache.address(of: target) == nil)
    }

    @Test func aFailedRefreshKeepsTheKnownAddressAndRetriesSooner() {
        var cache = NextHopCache(refreshMilliseconds: 5000, retryMilliseconds: 1000)
        cache.resolved(target, address: mac, now: at(0))
        cache.failed(target, now: at(5000))
        #expect(cache.lookup(target, now: at(5999)) == .send(mac))
        #expect(cache.lookup(target, now: at(6000)) == .sendAndRefresh(mac))
    }
}

@Suite struct LinkAddressingTests {
    @Test func ethernetNeedsAMACAndTunnelsNone() {
        #expect(LinkAddressing(hardwareType: 1) == .ethernet)
        #expect(LinkAddressing(hardwareType: 1)?.addressLength == 6)
        for tunnel: Int32 in [512, 519, 768, 769, 776, 778, 0xFFFE] {
            #expect(LinkAddressing(hardwareType: tunnel) == LinkAddressing.none, "ARPHRD \(tunnel)")
            #expect(LinkAddressing(hardwareType: tunnel)?.addressLength == 0)
        }
    }

    @Test func otherLinkTypesAreRefused() {
        // Loopback (its header is Ethernet's, with no neighbour), InfiniBand, IEEE 802.11.
        for other: Int32 in [772, 32, 801, 0] {
            #expect(LinkAddressing(hardwareType: other) == nil, "ARPHRD \(other)")
        }
    }
}

import Testing

@testable import TCPCopyCore

/// The link-layer sink's rtnetlink questions for IPv6 destinations: `AF_INET6`, 16-byte
/// addresses, as `ip -6 route get ADDR oif DEV` and `ip -6 neigh get ADDR dev DEV` send them
/// (little-endian host, as in `RouteNetlinkTests`).
@Suite struct RouteNetlinkIPv6Tests {
    private let target = IPAddress.v6(IPv6Address("fd00:77:2::2")!)
    private let gateway = IPAddress.v6(IPv6Address("fe80::1")!)
    private let targetBytes: [UInt8] = [0xFD, 0, 0, 0x77, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    private let gatewayBytes: [UInt8] = [0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }

    private func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        var bytes = le16(UInt16(4 + value.count)) + le16(type) + value
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    private func message(type: UInt16, sequence: UInt32, body: [UInt8]) -> [UInt8] {
        le32(UInt32(16 + body.count)) + le16(type) + le16(0) + le32(sequence) + le32(4242) + body
    }

    /// RTM_NEWROUTE for an IPv6 destination: rtmsg (AF_INET6, dst_len 128, ...), then RTA_TABLE,
    /// RTA_DST, RTA_OIF, RTA_GATEWAY when routed, RTA_PRIORITY.
    private func routeReply(sequence: UInt32, gateway: [UInt8]?) -> [UInt8] {
        var body: [UInt8] = [10, 128, 0, 0, 254, 2, 0, 1] + le32(0)
        body += attribute(15, le32(254))
        body += attribute(1, targetBytes)
        body += attribute(4, le32(3))
        if let gateway { body += attribute(5, gateway) }
        body += attribute(6, le32(1024))
        return message(type: 24, sequence: sequence, body: body)
    }

    @Test func routeRequestCarriesTheIPv6Destination() {
        let bytes = RouteNetlink.routeRequest(to: target, interfaceIndex: 3, sequence: 7)
        #expect(
            bytes
                == le32(56) + le16(26) + le16(1) + le32(7) + le32(0)
                + [10, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
                + [20, 0, 1, 0] + targetBytes
                + [8, 0, 4, 0, 3, 0, 0, 0])
    }

    @Test func neighbourRequestsAreOfFamilyIPv6() {
        let get = RouteNetlink.neighbourRequest(for: target, interfaceIndex: 3, sequence: 9)
        #expect(
            get
                == le32(48) + le16(30) + le16(1) + le32(9) + le32(0)
                + [10, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]
                + [20, 0, 1, 0] + targetBytes)
        let use = RouteNetlink.resolveRequest(for: gateway, interfaceIndex: 3, sequence: 11)
        #expect(
            use
                == le32(48) + le16(28) + le16(0x505) + le32(11) + le32(0)
                + [10, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1, 0]
                + [20, 0, 1, 0] + gatewayBytes)
    }

    @Test func ipv6RoutesGiveTheirNextHop() {
        let onLink = RouteNetlink.parseAnswer(routeReply(sequence: 5, gateway: nil), sequence: 5)
        #expect(onLink == .route(RouteAnswer(type: 1, outputInterface: 3, gateway: nil)))
        if case .route(let route) = onLink { #expect(route.nextHop(for: target) == target) }
        let routed = RouteNetlink.parseAnswer(routeReply(sequence: 6, gateway: gatewayBytes), sequence: 6)
        #expect(routed == .route(RouteAnswer(type: 1, outputInterface: 3, gateway: gateway)))
        if case .route(let route) = routed { #expect(route.nextHop(for: target) == gateway) }
    }

    @Test func aGatewayOfAnotherLengthIsIgnored() {
        let odd = RouteNetlink.parseAnswer(routeReply(sequence: 5, gateway: [1, 2, 3, 4, 5, 6, 7, 8]), sequence: 5)
        #expect(odd == .route(RouteAnswer(type: 1, outputInterface: 3, gateway: nil)))
        // Cut anywhere, the reply is malformed or incomplete, never a trap.
        let whole = routeReply(sequence: 5, gateway: gatewayBytes)
        for length in 0..<whole.count {
            let answer = RouteNetlink.parseAnswer(Array(whole.prefix(length)), sequence: 5)
            switch answer {
            case .malformed, .incomplete: break
            default: Issue.record("cut at \(length): \(answer)")
            }
        }
    }

    @Test func ipv6NeighbourGivesItsMAC() {
        let mac: [UInt8] = [0x02, 0x42, 0xAC, 0x11, 0x00, 0x02]
        var body: [UInt8] = [10, 0, 0, 0] + le32(3) + le16(0x02) + [0, 1]
        body += attribute(1, targetBytes)
        body += attribute(2, mac)
        let answer = RouteNetlink.parseAnswer(message(type: 28, sequence: 2, body: body), sequence: 2)
        #expect(answer == .neighbour(NeighbourAnswer(state: .reachable, linkAddress: LinkAddress(mac))))
    }

    @Test func theCacheKeepsFamiliesApart() {
        var cache = NextHopCache()
        let mac = LinkAddress([2, 0, 0, 0, 0, 2])!
        let now = MonotonicTime(milliseconds: 0)
        cache.resolved(target, address: mac, now: now)
        #expect(cache.lookup(target, now: now) == .send(mac))
        #expect(cache.lookup(.v6(IPv6Address(mapping: IPv4Address(10, 77, 2, 2))), now: now) == .resolve)
        #expect(cache.lookup(.v4(IPv4Address(10, 77, 2, 2)), now: now) == .resolve)
    }
}

import Testing

@testable import TCPCopyCore

/// The copy path over IPv6, pure: a route with IPv6 addresses, a session captured, copied,
/// answered through intercept's headers, and the same engines keeping an IPv4 route beside it.
@Suite struct IPv6CopyTests {
    static let client = IPv6Address("fd00:77:1::2")!
    static let online = IPv6Address("fd00:77:1::1")!
    static let target = IPv6Address("fd00:77:2::2")!
    static let route = CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v6(target), targetPort: 8080)

    func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    func captured(seq: UInt32, ack: UInt32 = 0, _ flags: TCPFlags, payload: String = "", port: UInt16 = 40000)
        -> [UInt8]
    {
        OutgoingSegment(
            source: .v6(Self.client), destination: .v6(Self.online), sourcePort: port, destinationPort: 80,
            sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack), flags: flags, window: 502,
            options: flags.contains(.syn) ? TCPOptions(maximumSegmentSize: 1440) : TCPOptions(),
            payload: Array(payload.utf8)[...]
        ).encode()
    }

    func targetHeader(seq: UInt32, ack: UInt32, _ flags: TCPFlags, length: Int = 0, port: UInt16 = 40000)
        -> ResponseHeader
    {
        ResponseHeader(
            packetPrefix: OutgoingSegment(
                source: .v6(Self.target), destination: .v6(Self.client), sourcePort: 8080, destinationPort: port,
                sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack), flags: flags, window: 65535,
                options: flags.contains(.syn) ? TCPOptions(maximumSegmentSize: 1440) : TCPOptions(),
                payload: [UInt8](repeating: 0x61, count: length)[...]
            ).encode())!
    }

    @Test func aSessionIsCopiedAndAnsweredOverIPv6() throws {
        let ipv4Route = CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v4(Lab.target), targetPort: 8080)
        var engine = TCPCopyEngine(
            configuration: TCPCopyConfiguration(routes: [Self.route, ipv4Route]), tuning: SessionTuning())
        var actions: [EngineAction] = []
        engine.captured(captured(seq: 1000, .syn), now: at(0), actions: &actions)
        // The IPv6 capture takes the IPv6 route only (a route without an online address takes
        // its target's family).
        let key = RouteKey(clientAddress: .v6(Self.client), clientPort: 40000, targetAddress: .v6(Self.target), targetPort: 8080)
        #expect(actions.controls == [.register(key)])
        let syn = try #require(actions.sent.first)
        #expect(actions.sent.count == 1)
        #expect(syn.source == .v6(Self.client) && syn.destination == .v6(Self.target) && syn.destinationPort == 8080)
        #expect(syn.encode()[0] >> 4 == 6)
        actions.removeAll()
        engine.response(targetHeader(seq: 5000, ack: 1001, [.syn, .ack]), now: at(1), actions: &actions)
        engine.captured(captured(seq: 1001, ack: 9001, .ack), now: at(2), actions: &actions)
        engine.captured(captured(seq: 1001, ack: 9001, [.psh, .ack], payload: "GET / HTTP/1.1\r\n\r\n"), now: at(3), actions: &actions)
        let data = actions.sent.filter { !$0.payload.isEmpty }
        #expect(data.count == 1)
        #expect(data.first.map { String(decoding: $0.payload, as: UTF8.self) } == "GET / HTTP/1.1\r\n\r\n")
        #expect(data.first?.acknowledgment == SequenceNumber(5001))
        actions.removeAll()
        engine.response(targetHeader(seq: 5001, ack: 1019, [.psh, .ack], length: 300), now: at(4), actions: &actions)
        engine.tick(now: at(500), actions: &actions)
        // Acknowledged, at once or by the delayed ACK.
        #expect(actions.sent.last?.acknowledgment == SequenceNumber(5301))
        #expect(engine.counters.malformed.isEmpty && engine.counters.responsesUnmatched == 0)
        // The IPv4 route still takes IPv4 captures.
        actions.removeAll()
        engine.captured(CapturedClient().bytes(seq: 1, .syn), now: at(5), actions: &actions)
        #expect(actions.sent.map(\.destination) == [.v4(Lab.target)])
    }

    @Test func aRouteWithAnOnlineAddressTakesThatAddressOnly() {
        let route = CopyRoute(onlineAddress: .v6(Self.online), onlinePort: 80, targetAddress: .v6(Self.target), targetPort: 80)
        #expect(route.accepts(.v6(Self.online)))
        #expect(!route.accepts(.v6(Self.client)))
        #expect(!route.accepts(.v4(Lab.online)))
        #expect(Self.route.accepts(.v6(Self.client)) && !Self.route.accepts(.v4(Lab.online)))
    }

    @Test func interceptForwardsIPv6HeadersToTheRegisteredConnection() throws {
        var engine = InterceptEngine<Int>(
            allowList: [], ipv6AllowList: [IPv6Address("fd00:77:1::3")!],
            limits: .init(routeIdleMilliseconds: 120_000, holdMilliseconds: 2000, maximumHeld: 16))
        var deliveries: [InterceptEngine<Int>.Delivery] = []
        _ = engine.received(.hello(version: ControlMessage.protocolVersion), from: 1, now: at(0), deliveries: &deliveries)
        let key = RouteKey(clientAddress: .v6(Self.client), clientPort: 40000, targetAddress: .v6(Self.target), targetPort: 8080)
        _ = engine.received(.register(key), from: 1, now: at(0), deliveries: &deliveries)
        let packet = OutgoingSegment(
            source: .v6(Self.target), destination: .v6(Self.client), sourcePort: 8080, destinationPort: 40000,
            sequence: SequenceNumber(1), acknowledgment: SequenceNumber(2), flags: [.psh, .ack], window: 100,
            payload: [UInt8](repeating: 0x62, count: 700)[...]
        ).encode()
        let (verdict, forward) = engine.queued(packet, now: at(1))
        #expect(verdict == .drop)
        #expect(forward?.connection == 1 && forward?.headerLength == 60)
        var frame: [UInt8] = []
        packet.prefix(60).withUnsafeBytes { ControlEncoder.encodeResponse(headers: $0, into: &frame) }
        var decoder = ControlDecoder()
        decoder.append(frame)
        guard case .response(let header)? = try decoder.nextEvent() else {
            Issue.record("not a response")
            return
        }
        #expect(header.payloadLength == 700 && header.source == .v6(Self.target))
        #expect(engine.counters.ipv6Dropped == 1 && engine.counters.forwarded == 0, "forwarded is the daemon's count")
        // The IPv4 key of the same ports is another route: nothing for it.
        let (_, none) = engine.queued(
            OutgoingSegment(
                source: .v4(Lab.target), destination: .v4(Lab.client), sourcePort: 8080, destinationPort: 40000,
                sequence: SequenceNumber(1), acknowledgment: SequenceNumber(2), flags: .ack, window: 100
            ).encode(), now: at(2))
        #expect(none == nil)
    }

    @Test func routesAndStandInsParse() throws {
        let routes = try ConfigurationParser.routeList("80-[fd00:2::2]:8080, [fd00:1::1]:443-[fd00:2::2]:443,80-10.0.0.2:80")
        #expect(routes.map(\.description) == ["80-[fd00:2::2]:8080", "[fd00:1::1]:443-[fd00:2::2]:443", "80-10.0.0.2:80"])
        let legacy = try ConfigurationParser.legacyRoute(["fd00:1::1", "80", "fd00:2::2", "8080"])
        #expect(legacy.description == "[fd00:1::1]:80-[fd00:2::2]:8080")
        #expect(throws: ConfigurationError.self) { try ConfigurationParser.legacyRoute(["10.0.0.1", "80", "fd00:2::2", "80"]) }
        #expect(throws: ConfigurationError.self) { try ConfigurationParser.route("[10.0.0.1]:80-[fd00:2::2]:80") }
        #expect(throws: ConfigurationError.self) { try ConfigurationParser.route("80-[fd00:2::2]") }
        let standIns = try ConfigurationParser.mixedClientAddresses(combining: ["[fd00:9::1],10.0.9.1", "[fd00:9::2]"])
        #expect(standIns.map(\.description) == ["10.0.9.1", "fd00:9::1", "fd00:9::2"])
        let sampler = SessionSampler(ratePercent: 100, clientAddresses: standIns)
        #expect(sampler.targetSideAddress(for: .v4(Lab.client)) == .v4(IPv4Address(10, 0, 9, 1)))
        #expect(sampler.targetSideAddress(for: .v6(Self.client)).family == .ipv6)
        let onlyIPv4 = SessionSampler(ratePercent: 100, clientAddresses: [.v4(IPv4Address(10, 0, 9, 1))])
        #expect(onlyIPv4.targetSideAddress(for: .v6(Self.client)) == .v6(Self.client), "no stand-in of its family")
    }

    @Test func ipv6KeysAreToldApartAndStable() {
        var words: Set<UInt64> = []
        for port in UInt16(1000)..<UInt16(1400) {
            let key = RouteKey(clientAddress: .v6(Self.client), clientPort: port, targetAddress: .v6(Self.target), targetPort: 80)
            #expect(key.word == key.word)
            words.insert(key.word)
        }
        #expect(words.count == 400)
        let v4 = RouteKey(clientAddress: .v4(Lab.client), clientPort: 1, targetAddress: .v4(Lab.target), targetPort: 80)
        #expect(v4.word == hashWord(Lab.client, 1, Lab.target, 80), "IPv4 words are as before")
    }
}

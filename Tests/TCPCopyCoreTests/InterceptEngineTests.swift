import Testing

@testable import TCPCopyCore

@Suite struct InterceptEngineTests {
    typealias Engine = InterceptEngine<Int>
    static let admin = IPv4Address(10, 9, 9, 9)
    let target = RespondingTarget()

    func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    func makeEngine(holdMilliseconds: Int64 = 2000, maximumHeld: Int = 4096) -> Engine {
        Engine(
            allowList: [Self.admin],
            limits: .init(routeIdleMilliseconds: 120_000, holdMilliseconds: holdMilliseconds, maximumHeld: maximumHeld))
    }

    /// A connection that has said hello.
    func greet(_ engine: inout Engine, _ connection: Int) {
        var deliveries: [Engine.Delivery] = []
        #expect(
            engine.received(
                .hello(version: ControlMessage.protocolVersion), from: connection, now: at(0), deliveries: &deliveries)
                == .send(.welcome(version: ControlMessage.protocolVersion)))
        #expect(deliveries.isEmpty)
    }

    func receive(_ engine: inout Engine, _ message: ControlMessage, from connection: Int, at ms: Int64 = 0)
        -> (Engine.Reply, [Engine.Delivery])
    {
        var deliveries: [Engine.Delivery] = []
        let reply = engine.received(message, from: connection, now: at(ms), deliveries: &deliveries)
        return (reply, deliveries)
    }

    /// The bytes NFQUEUE hands over: the whole response packet.
    func packet(
        to client: IPv4Address = Lab.client, clientPort: UInt16 = Lab.clientPort, from port: UInt16 = Lab.targetPort,
        length: Int = 100
    ) -> [UInt8] {
        OutgoingSegment(
            source: .v4(Lab.target), destination: .v4(client), sourcePort: port, destinationPort: clientPort,
            sequence: SequenceNumber(7), acknowledgment: SequenceNumber(8), flags: [.ack, .psh], window: 100,
            payload: [UInt8](repeating: 1, count: length)[...]
        ).encode()
    }

    @Test func allowListedDestinationIsAccepted() {
        var engine = makeEngine()
        let (verdict, delivery) = engine.queued(packet(to: Self.admin), now: at(0))
        #expect(verdict == .accept)
        #expect(delivery == nil)
        #expect(engine.counters.accepted == 1)
        #expect(engine.counters.dropped == 0)
        #expect(engine.counters.held == 0)
    }

    @Test func everythingElseIsDropped() {
        var engine = makeEngine()
        for client in [Lab.client, IPv4Address(10, 9, 9, 8), IPv4Address(10, 9, 9, 10)] {
            #expect(engine.queued(packet(to: client), now: at(0)).0 == .drop)
        }
        #expect(engine.counters.queued == 3)
        #expect(engine.counters.dropped == 3)
        #expect(engine.counters.accepted == 0)
    }

    @Test func malformedPacketIsDroppedAndCounted() {
        var engine = makeEngine()
        var bad = packet()
        bad[32] = 0x20  // data offset 2
        for bytes in [[0x45, 0, 0], bad, [UInt8](repeating: 0, count: 60)] {
            let (verdict, delivery) = engine.queued(bytes, now: at(0))
            #expect(verdict == .drop)
            #expect(delivery == nil)
        }
        #expect(engine.counters.malformed == 3)
        #expect(engine.counters.dropped == 3)
        #expect(engine.counters.held == 0)
    }

    @Test func unparsableIPv4ToAnAllowListedHostStillPasses() {
        var engine = makeEngine()
        var udp = packet(to: Self.admin)
        udp[9] = 17
        #expect(engine.queued(udp, now: at(0)).0 == .accept)
        #expect(engine.counters.malformed == 0)
    }

    // MARK: - Handshake

    @Test func firstMessageMustBeHello() {
        for first: ControlMessage in [.register(Lab.key), .heartbeat, .welcome(version: 1), .goodbye(.shuttingDown)] {
            var engine = makeEngine()
            #expect(receive(&engine, first, from: 1).0 == .sendAndClose(.goodbye(.protocolError)))
            #expect(engine.counters.connectionsRejected == 1)
            #expect(engine.counters.connectionsAccepted == 0)
            #expect(engine.routeCount == 0)
        }
    }

    @Test(arguments: [0, 1, 2, 3, 5, 0xFFFF] as [UInt16])
    func otherVersionsAreRefused(_ version: UInt16) {
        var engine = makeEngine()
        #expect(receive(&engine, .hello(version: version), from: 1).0 == .sendAndClose(.goodbye(.unsupportedVersion)))
        #expect(engine.counters.connectionsRejected == 1)
        // Still not greeted.
        #expect(receive(&engine, .register(Lab.key), from: 1).0 == .sendAndClose(.goodbye(.protocolError)))
    }

    @Test func afterHelloTheConversation() {
        var engine = makeEngine()
        greet(&engine, 1)
        #expect(engine.counters.connectionsAccepted == 1)
        #expect(receive(&engine, .heartbeat, from: 1).0 == .send(.heartbeat))
        #expect(receive(&engine, .register(Lab.key), from: 1).0 == Engine.Reply.none)
        #expect(receive(&engine, .goodbye(.shuttingDown), from: 1).0 == Engine.Reply.none)
        // Messages only intercept sends, or a second hello, are misuse.
        let header = target.header(seq: 1, ack: 1, .ack)
        for misuse: ControlMessage in [
            .hello(version: ControlMessage.protocolVersion), .welcome(version: 1), .response(header),
        ] {
            #expect(receive(&engine, misuse, from: 1).0 == .sendAndClose(.goodbye(.protocolError)))
        }
        #expect(engine.counters.connectionsRejected == 3)
    }

    /// A clock probe is echoed with intercept's clock; an echo from tcpcopy is misuse.
    @Test func clockProbeIsEchoedWithInterceptsClock() {
        var engine = makeEngine()
        greet(&engine, 1)
        var deliveries: [Engine.Delivery] = []
        let reply = engine.received(
            .clockProbe(sentMicroseconds: 1_234), from: 1, now: at(0), deliveries: &deliveries,
            clockMicroseconds: 9_876_543)
        #expect(reply == .send(.clockEcho(sentMicroseconds: 1_234, stampMicroseconds: 9_876_543)))
        #expect(
            receive(&engine, .clockEcho(sentMicroseconds: 1, stampMicroseconds: 2), from: 1).0
                == .sendAndClose(.goodbye(.protocolError)))
    }

    // MARK: - Routing

    @Test func registeredSessionGetsItsResponses() {
        var engine = makeEngine()
        greet(&engine, 1)
        greet(&engine, 2)
        _ = receive(&engine, .register(Lab.key), from: 2)
        #expect(engine.routeCount == 1)
        #expect(engine.counters.registrations == 1)
        let bytes = packet(length: 1000)
        let (verdict, forward) = engine.queued(bytes, now: at(10))
        #expect(verdict == .drop)
        #expect(forward?.connection == 2)
        #expect(forward?.headerLength == 40)
        // The frame the daemon builds from the packet's own bytes is the response tcpcopy reads.
        var frame: [UInt8] = []
        bytes.prefix(forward?.headerLength ?? 0).withUnsafeBytes {
            ControlEncoder.encodeResponse(headers: $0, into: &frame)
        }
        var decoder = ControlDecoder()
        decoder.append(frame)
        guard case .response(let header)? = try? decoder.next() else {
            Issue.record("not a response frame")
            return
        }
        #expect(header.bytes == Array(bytes.prefix(40)))
        #expect(header.packet.payloadLength == 1000)
        #expect(engine.counters.dropped == 1)
        #expect(engine.counters.held == 0)
    }

    @Test func responseBeforeRegisterIsHeldThenDelivered() {
        var engine = makeEngine()
        greet(&engine, 1)
        let synAck = packet(length: 0)
        let data = packet(length: 10)
        for (bytes, ms) in [(synAck, 0), (data, 1)] as [([UInt8], Int64)] {
            let (verdict, delivery) = engine.queued(bytes, now: at(ms))
            #expect(verdict == .drop)
            #expect(delivery == nil)
        }
        #expect(engine.counters.held == 2)
        let (reply, deliveries) = receive(&engine, .register(Lab.key), from: 1, at: 5)
        #expect(reply == Engine.Reply.none)
        #expect(deliveries.map(\.connection) == [1, 1])
        #expect(deliveries.map(\.header.bytes) == [Array(synAck.prefix(40)), Array(data.prefix(40))])
        #expect(engine.counters.heldDelivered == 2)
        // Later responses go straight through.
        #expect(engine.queued(data, now: at(6)).1?.connection == 1)
        #expect(engine.counters.held == 2)
    }

    @Test func heldResponsesExpire() {
        var engine = makeEngine()
        greet(&engine, 1)
        _ = engine.queued(packet(), now: at(0))
        engine.tick(now: at(1999))
        #expect(engine.counters.heldExpired == 0)
        engine.tick(now: at(2000))
        #expect(engine.counters.heldExpired == 1)
        let (_, deliveries) = receive(&engine, .register(Lab.key), from: 1, at: 2001)
        #expect(deliveries.isEmpty)
        #expect(engine.counters.heldDelivered == 0)
    }

    @Test func fullHoldAreaCountsUnrouted() {
        var engine = makeEngine(maximumHeld: 2)
        for _ in 0..<5 { _ = engine.queued(packet(), now: at(0)) }
        #expect(engine.counters.held == 2)
        #expect(engine.counters.unrouted == 3)
        #expect(engine.counters.dropped == 5)
    }

    @Test func idleRoutesExpire() {
        var engine = makeEngine()
        greet(&engine, 1)
        _ = receive(&engine, .register(Lab.key), from: 1, at: 0)
        // A response at 100 s counts as use.
        #expect(engine.queued(packet(), now: at(100_000)).1?.connection == 1)
        engine.tick(now: at(219_999))
        #expect(engine.routeCount == 1)
        engine.tick(now: at(220_000))
        #expect(engine.routeCount == 0)
        #expect(engine.counters.routesExpired == 1)
        #expect(engine.queued(packet(), now: at(220_001)).1 == nil)
        #expect(engine.counters.held == 1)
    }

    @Test func duplicateRegistrationKeepsTheFirstOwner() {
        var engine = makeEngine()
        greet(&engine, 1)
        greet(&engine, 2)
        #expect(receive(&engine, .register(Lab.key), from: 1).0 == .none)
        // The second owner is refused, and the reply says whose route it is, for the log.
        #expect(receive(&engine, .register(Lab.key), from: 2).0 == .duplicate(Lab.key, owner: 1))
        #expect(receive(&engine, .register(Lab.key), from: 1).0 == .none)  // a refresh, not a duplicate
        #expect(engine.counters.registrations == 3)
        #expect(engine.counters.duplicateRegistrations == 1)
        #expect(engine.queued(packet(), now: at(1)).1?.connection == 1)
        // The loser cannot unregister the winner's route.
        _ = receive(&engine, .unregister(Lab.key), from: 2)
        #expect(engine.queued(packet(), now: at(2)).1?.connection == 1)
        _ = receive(&engine, .unregister(Lab.key), from: 1)
        #expect(engine.routeCount == 0)
        #expect(engine.queued(packet(), now: at(3)).1 == nil)
    }

    @Test func routeCapsRefuseAndAreReleasedWithTheRoutes() {
        var engine = Engine(
            allowList: [],
            limits: .init(routeIdleMilliseconds: 1000, maximumRoutesPerOwner: 2, maximumRoutes: 3))
        greet(&engine, 1)
        greet(&engine, 2)
        func key(_ port: UInt16) -> RouteKey {
            var key = Lab.key
            key.clientPort = port
            return key
        }
        #expect(receive(&engine, .register(key(1)), from: 1).0 == .none)
        #expect(receive(&engine, .register(key(2)), from: 1).0 == .none)
        #expect(receive(&engine, .register(key(3)), from: 1).0 == .overCap(key(3), .connectionCap))
        #expect(receive(&engine, .register(key(1)), from: 1).0 == .none)  // a refresh is not a new route
        #expect(receive(&engine, .register(key(4)), from: 2).0 == .none)
        #expect(receive(&engine, .register(key(5)), from: 2).0 == .overCap(key(5), .totalCap))
        #expect(engine.counters.registrationsOverCap == 2)
        #expect(engine.routeCount == 3)
        // Unregistering, closing and expiring give the room back.
        _ = receive(&engine, .unregister(key(2)), from: 1)
        #expect(receive(&engine, .register(key(3)), from: 1).0 == .none)
        engine.closed(2)
        #expect(receive(&engine, .register(key(6)), from: 1).0 == .overCap(key(6), .connectionCap))
        engine.tick(now: at(5000))
        #expect(engine.routeCount == 0)
        #expect(receive(&engine, .register(key(6)), from: 1, at: 5000).0 == .none)
        #expect(receive(&engine, .register(key(7)), from: 1, at: 5000).0 == .none)
    }

    @Test func secretHandshakeWelcomesOnlyTheRightProof() {
        let secret = Array("correct horse battery staple".utf8)
        let nonce = [UInt8](repeating: 7, count: ControlHandshake.nonceLength)
        var engine = Engine(allowList: [], limits: .init(routeIdleMilliseconds: 1000), secret: secret)
        var deliveries: [Engine.Delivery] = []
        let hello = ControlMessage.hello(version: ControlMessage.protocolVersion)
        #expect(
            engine.received(hello, from: 1, now: .zero, deliveries: &deliveries, nonce: { nonce })
                == .send(.challenge(nonce)))
        // Not greeted until the proof: a registration now is misuse.
        #expect(!engine.isGreeted(1))
        let right = ControlHandshake.proof(secret: secret, nonce: nonce)
        #expect(receive(&engine, .proof(right), from: 1).0 == .send(.welcome(version: ControlMessage.protocolVersion)))
        #expect(engine.isGreeted(1))
        // A wrong secret, or a proof for another nonce (a replay), is refused.
        let wrong = ControlHandshake.proof(secret: Array("not the secret at all".utf8), nonce: nonce)
        let otherNonce = [UInt8](repeating: 8, count: ControlHandshake.nonceLength)
        for (connection, proof) in [(2, wrong), (3, right)] {
            let fresh = connection == 2 ? nonce : otherNonce
            _ = engine.received(hello, from: connection, now: .zero, deliveries: &deliveries, nonce: { fresh })
            #expect(receive(&engine, .proof(proof), from: connection).0 == .sendAndClose(.goodbye(.badSecret)))
            #expect(!engine.isGreeted(connection))
        }
        // Skipping the proof is misuse.
        _ = engine.received(hello, from: 4, now: .zero, deliveries: &deliveries, nonce: { nonce })
        #expect(receive(&engine, .register(Lab.key), from: 4).0 == .sendAndClose(.goodbye(.protocolError)))
        #expect(engine.counters.secretRefused == 2)
        #expect(engine.routeCount == 0)
    }

    @Test func closedConnectionTakesItsRoutesAndItsGreeting() {
        var engine = makeEngine()
        greet(&engine, 1)
        greet(&engine, 2)
        var other = Lab.key
        other.clientPort = 40001
        var third = Lab.key
        third.clientPort = 40002
        _ = receive(&engine, .register(Lab.key), from: 1)
        _ = receive(&engine, .register(other), from: 1)
        _ = receive(&engine, .register(third), from: 2)
        engine.closed(1)
        #expect(engine.routeCount == 1)
        #expect(engine.queued(packet(), now: at(1)).1 == nil)
        #expect(engine.queued(packet(clientPort: 40002), now: at(1)).1?.connection == 2)
        // A new connection reusing the identifier must say hello again.
        #expect(receive(&engine, .register(Lab.key), from: 1).0 == .sendAndClose(.goodbye(.protocolError)))
    }

    @Test func routesAreKeyedExactly() {
        var engine = makeEngine()
        greet(&engine, 1)
        _ = receive(&engine, .register(Lab.key), from: 1)
        // Same client ip and port, another target port: another session.
        #expect(engine.queued(packet(from: Lab.targetPort + 1), now: at(0)).1 == nil)
        #expect(engine.queued(packet(clientPort: Lab.clientPort + 1), now: at(0)).1 == nil)
        #expect(engine.queued(packet(to: IPv4Address(192, 168, 1, 11)), now: at(0)).1 == nil)
        var fromOtherTarget = packet()
        fromOtherTarget[15] ^= 1  // source address 10.0.0.3
        #expect(engine.queued(fromOtherTarget, now: at(0)).1 == nil)
        #expect(engine.counters.held == 4)
        #expect(engine.queued(packet(), now: at(0)).1?.connection == 1)
    }

    @Test func counterLineNamesEveryCounter() {
        var engine = makeEngine()
        _ = engine.queued(packet(to: Self.admin), now: at(0))
        let text = engine.counters.line.text
        #expect(text.hasPrefix("queued=1 accepted=1 dropped=0 forwarded=0 malformed=0 held=0"))
        #expect(text.contains("duplicate_registrations=0"))
    }
}

/// Bare ACKs held to the end of a batch (`HeldAcks`).
@Suite struct InterceptHeldAckTests {
    typealias Engine = InterceptEngine<Int>

    /// An engine with one route, `Lab.key`, owned by connection 1.
    func routedEngine() -> Engine {
        var engine = Engine(allowList: [], limits: .init(routeIdleMilliseconds: 120_000))
        var deliveries: [Engine.Delivery] = []
        _ = engine.received(
            .hello(version: ControlMessage.protocolVersion), from: 1, now: .zero, deliveries: &deliveries)
        _ = engine.received(.register(Lab.key), from: 1, now: .zero, deliveries: &deliveries)
        return engine
    }

    /// A packet of `Lab.key`'s session from the target.
    func response(ack: UInt32, _ flags: TCPFlags = .ack, length: Int = 0, clientPort: UInt16 = Lab.clientPort)
        -> [UInt8]
    {
        OutgoingSegment(
            source: .v4(Lab.target), destination: .v4(Lab.client), sourcePort: Lab.targetPort, destinationPort: clientPort,
            sequence: SequenceNumber(500), acknowledgment: SequenceNumber(ack), flags: flags, window: 100,
            payload: [UInt8](repeating: 1, count: length)[...]
        ).encode()
    }

    /// Queues `packets` as one batch; returns what went to tcpcopy, in order (each packet's
    /// acknowledgment number and payload length), as intercept's drain sends it.
    func batch(_ engine: inout Engine, _ packets: [[UInt8]]) -> [(ack: UInt32, length: Int)] {
        var sent: [(ack: UInt32, length: Int)] = []
        func record(_ headers: [UInt8]) {
            guard case .success(let packet) = TCPPacket.parse(headers, requirePayload: false) else {
                Issue.record("forwarded headers do not parse")
                return
            }
            sent.append((packet.acknowledgment.rawValue, packet.payloadLength))
        }
        for bytes in packets {
            let (verdict, forward) = engine.queued(bytes, now: .zero)
            #expect(verdict == .drop)
            guard let forward else { continue }
            #expect(forward.connection == 1)
            if let earlier = forward.earlierAck { record(earlier.withUnsafeBytes { Array($0) }) }
            if !forward.isHeld { record(Array(bytes[..<forward.headerLength])) }
        }
        engine.releaseHeldAcks { connection, headers in
            #expect(connection == 1)
            record(headers.withUnsafeBytes { Array($0) })
        }
        return sent
    }

    @Test func anAckFollowedByTheResponseIsNotForwarded() {
        var engine = routedEngine()
        let sent = batch(&engine, [response(ack: 121), response(ack: 121, [.ack, .psh], length: 400)])
        #expect(sent.map(\.ack) == [121])
        #expect(sent.map(\.length) == [400])
        #expect(engine.counters.acksCoalesced == 1)
    }

    @Test func anAckFollowedByAFinOrALargerAckIsNotForwarded() {
        var engine = routedEngine()
        #expect(batch(&engine, [response(ack: 121), response(ack: 121, [.ack, .fin])]).map(\.ack) == [121])
        #expect(batch(&engine, [response(ack: 121), response(ack: 122)]).map(\.ack) == [122])
        #expect(engine.counters.acksCoalesced == 2)
    }

    @Test func anAckAloneGoesAtTheEndOfItsBatch() {
        var engine = routedEngine()
        let other = RouteKey(
            clientAddress: .v4(Lab.client), clientPort: Lab.clientPort + 1, targetAddress: .v4(Lab.target),
            targetPort: Lab.targetPort)
        var deliveries: [Engine.Delivery] = []
        _ = engine.received(.register(other), from: 1, now: .zero, deliveries: &deliveries)
        // Another session's response does not supersede it; the ACK goes after it.
        let sent = batch(&engine, [response(ack: 121), response(ack: 9, length: 10, clientPort: Lab.clientPort + 1)])
        #expect(sent.map(\.ack) == [9, 121])
        #expect(engine.counters.acksCoalesced == 0)
        // The next batch starts with nothing held.
        #expect(batch(&engine, [response(ack: 121, [.ack, .psh], length: 5)]).map(\.ack) == [121])
    }

    /// A duplicate ACK is news of its own (tcpcopy counts them to retransmit early), and so is
    /// anything a SYN or RST says: the held ACK goes first, in order.
    @Test func duplicatesAndResetsKeepTheAckBeforeThem() {
        var engine = routedEngine()
        let duplicates = batch(&engine, [response(ack: 121), response(ack: 121), response(ack: 121)])
        #expect(duplicates.map(\.ack) == [121, 121, 121])
        let reset = batch(&engine, [response(ack: 121), response(ack: 130, [.rst, .ack])])
        #expect(reset.map(\.ack) == [121, 130])
        // An older ACK (reordered) does not supersede a newer one either.
        #expect(batch(&engine, [response(ack: 121), response(ack: 120, length: 3)]).map(\.ack) == [121, 120])
        #expect(engine.counters.acksCoalesced == 0)
    }

    @Test func unroutedAndAllowListedAcksAreNotHeld() {
        var engine = Engine(allowList: [Lab.client], limits: .init(routeIdleMilliseconds: 120_000))
        let (verdict, forward) = engine.queued(response(ack: 121), now: .zero)
        #expect(verdict == .accept)
        #expect(forward == nil)
        var unrouted = routedEngine()
        let stranger = OutgoingSegment(
            source: .v4(Lab.target), destination: .v4(IPv4Address(192, 168, 7, 7)), sourcePort: Lab.targetPort,
            destinationPort: 4000, sequence: SequenceNumber(1), acknowledgment: SequenceNumber(2), flags: .ack,
            window: 100
        ).encode()
        #expect(unrouted.queued(stranger, now: .zero).1 == nil)
        #expect(unrouted.counters.held == 1)
        var released = 0
        unrouted.releaseHeldAcks { _, _ in released += 1 }
        #expect(released == 0)
    }
}

@Suite struct InterceptEngineCompareTests {
    /// Only the route's owner may ask for its answers, and only an intercept run with --compare
    /// reports them; unregistering or closing stops them.
    @Test func compareRequestsStartAndStopReports() {
        var engine = InterceptEngine<Int>(
            allowList: [], limits: .init(routeIdleMilliseconds: 120_000, holdMilliseconds: 2000, maximumHeld: 16))
        engine.answers.enabled = true
        var deliveries: [InterceptEngine<Int>.Delivery] = []
        let now = MonotonicTime(milliseconds: 1)
        for connection in [1, 2] {
            _ = engine.received(
                .hello(version: ControlMessage.protocolVersion), from: connection, now: now, deliveries: &deliveries)
        }
        _ = engine.received(.register(Lab.key), from: 1, now: now, deliveries: &deliveries)
        _ = engine.received(.compare(Lab.key), from: 2, now: now, deliveries: &deliveries)
        #expect(!engine.answers.isActive)
        _ = engine.received(.compare(Lab.key), from: 1, now: now, deliveries: &deliveries)
        #expect(engine.answers.streamCount == 1)
        _ = engine.received(.unregister(Lab.key), from: 1, now: now, deliveries: &deliveries)
        #expect(!engine.answers.isActive)
        _ = engine.received(.register(Lab.key), from: 1, now: now, deliveries: &deliveries)
        _ = engine.received(.compare(Lab.key), from: 1, now: now, deliveries: &deliveries)
        engine.closed(1)
        #expect(!engine.answers.isActive)
    }

    /// Masked header lines follow the owner that asked for the route's comparison: a route
    /// compared by a tcpcopy that masks `Date` digests the answer without that line, the same
    /// route compared next by one that masks nothing digests every byte, and a masking owner's
    /// streams and filters go when it disconnects.
    @Test func masksFollowTheRoutesOwner() {
        var reporter = AnswerReporter<Int>(enabled: true)
        reporter.configure(1, maskedHeaders: ["Date"])
        reporter.configure(2, maskedHeaders: [])
        let head = "HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 06:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
        let masked = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        func segment(_ flags: TCPFlags, seq: UInt32, payload: [UInt8]) -> [UInt8] {
            OutgoingSegment(
                source: .v4(Lab.target), destination: .v4(Lab.client), sourcePort: Lab.targetPort,
                destinationPort: Lab.clientPort, sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(501),
                flags: flags, window: 100, payload: payload[...]
            ).encode()
        }
        func answer(comparedBy owner: Int) -> AnswerPiece? {
            reporter.start(Lab.key, owner: owner)
            var pieces: [AnswerPiece] = []
            _ = segment([.syn, .ack], seq: 9000, payload: []).withUnsafeBytes {
                reporter.observe($0, stampMicroseconds: 1, into: &pieces)
            }
            let owner = segment([.ack, .psh], seq: 9001, payload: Array(head.utf8)).withUnsafeBytes {
                reporter.observe($0, stampMicroseconds: 2, into: &pieces)
            }
            #expect(owner != nil)
            return pieces.count == 1 ? pieces[0] : nil
        }
        let first = answer(comparedBy: 1)
        #expect(first?.crc == CRC32C.checksum(Array(masked.utf8)))
        #expect(first?.digestedLength == UInt16(masked.utf8.count))
        #expect(first?.length == UInt16(head.utf8.count))
        #expect(first?.head == Array(head.utf8))
        let second = answer(comparedBy: 2)
        #expect(second?.crc == CRC32C.checksum(Array(head.utf8)))
        #expect(second?.digestedLength == UInt16(head.utf8.count))
        // Back to the masking owner, which then disconnects: nothing of its routes is left.
        #expect(answer(comparedBy: 1)?.crc == CRC32C.checksum(Array(masked.utf8)))
        reporter.closed(1)
        #expect(!reporter.isActive)
        #expect(answer(comparedBy: 1)?.crc == CRC32C.checksum(Array(head.utf8)))
    }

    /// The SYN-ACK held before its route's `register`, or seen between the `register` and the
    /// `compare`: the route's answers are still placed and reported.
    @Test(arguments: [true, false]) func synAckBeforeCompareIsKept(held: Bool) {
        var engine = InterceptEngine<Int>(
            allowList: [], limits: .init(routeIdleMilliseconds: 120_000, holdMilliseconds: 2000, maximumHeld: 16))
        engine.answers.enabled = true
        var deliveries: [InterceptEngine<Int>.Delivery] = []
        let now = MonotonicTime(milliseconds: 1)
        _ = engine.received(
            .hello(version: ControlMessage.protocolVersion), from: 1, now: now, deliveries: &deliveries)
        func segment(_ flags: TCPFlags, seq: UInt32, payload: [UInt8]) -> [UInt8] {
            OutgoingSegment(
                source: .v4(Lab.target), destination: .v4(Lab.client), sourcePort: Lab.targetPort,
                destinationPort: Lab.clientPort,
                sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(501), flags: flags, window: 100,
                payload: payload[...]
            ).encode()
        }
        let synAck = segment([.syn, .ack], seq: 9000, payload: [])
        var pieces: [AnswerPiece] = []
        if held { #expect(engine.queued(synAck, now: now).1 == nil) }
        _ = engine.received(.register(Lab.key), from: 1, now: now, deliveries: &deliveries)
        #expect(deliveries.count == (held ? 1 : 0))
        if !held {
            #expect(engine.queued(synAck, now: now).1 != nil)
            #expect(synAck.withUnsafeBytes { engine.answers.observe($0, stampMicroseconds: 1, into: &pieces) } == nil)
        }
        _ = engine.received(.compare(Lab.key), from: 1, now: now, deliveries: &deliveries)
        let answer = segment([.ack, .psh], seq: 9001, payload: Array("HTTP/1.1 200 OK\r\n\r\n".utf8))
        #expect(answer.withUnsafeBytes { engine.answers.observe($0, stampMicroseconds: 2, into: &pieces) } == 1)
        #expect(pieces.count == 1)
        #expect(pieces.first?.sequenceOffset == 0)
        #expect(pieces.first?.acknowledgmentOffset == 0)
        #expect(pieces.first?.startsAnswer == true)
    }

    /// A client reusing its ports while its earlier session is still compared: the new
    /// session's SYN-ACK comes before its `compare`, and is kept for it.
    @Test func synAckOfAReusedRouteIsKept() {
        var engine = InterceptEngine<Int>(
            allowList: [], limits: .init(routeIdleMilliseconds: 120_000, holdMilliseconds: 2000, maximumHeld: 16))
        engine.answers.enabled = true
        var deliveries: [InterceptEngine<Int>.Delivery] = []
        let now = MonotonicTime(milliseconds: 1)
        _ = engine.received(
            .hello(version: ControlMessage.protocolVersion), from: 1, now: now, deliveries: &deliveries)
        func segment(_ flags: TCPFlags, seq: UInt32, ack: UInt32, payload: [UInt8] = []) -> [UInt8] {
            OutgoingSegment(
                source: .v4(Lab.target), destination: .v4(Lab.client), sourcePort: Lab.targetPort,
                destinationPort: Lab.clientPort,
                sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack), flags: flags, window: 100,
                payload: payload[...]
            ).encode()
        }
        var pieces: [AnswerPiece] = []
        func observe(_ bytes: [UInt8]) -> Int? {
            _ = engine.queued(bytes, now: now)
            return bytes.withUnsafeBytes { engine.answers.observe($0, stampMicroseconds: 1, into: &pieces) }
        }
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
        _ = engine.received(.register(Lab.key), from: 1, now: now, deliveries: &deliveries)
        _ = engine.received(.compare(Lab.key), from: 1, now: now, deliveries: &deliveries)
        _ = observe(segment([.syn, .ack], seq: 9000, ack: 501))
        #expect(observe(segment([.ack, .psh], seq: 9001, ack: 600, payload: answer)) == 1)
        // The new session: its SYN-ACK, then its register and compare, then its answer.
        _ = observe(segment([.syn, .ack], seq: 70_000, ack: 8001))
        _ = engine.received(.register(Lab.key), from: 1, now: now, deliveries: &deliveries)
        _ = engine.received(.compare(Lab.key), from: 1, now: now, deliveries: &deliveries)
        pieces.removeAll()
        #expect(observe(segment([.ack, .psh], seq: 70_001, ack: 8100, payload: answer)) == 1)
        #expect(pieces.map(\.sequenceOffset) == [0])
        #expect(pieces.map(\.acknowledgmentOffset) == [99])
    }
}

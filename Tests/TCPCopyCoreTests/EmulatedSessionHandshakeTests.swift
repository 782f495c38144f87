import Testing

@testable import TCPCopyCore

@Suite struct EmulatedSessionHandshakeTests {
    let c: UInt32 = 1001  // the client's first data byte
    let s: UInt32 = 5001  // what the client acknowledges after the handshake
    let t: UInt32 = 700_001  // the target's first data byte

    @Test func synRegistersThenSendsTheSYNWithoutSACK() throws {
        let options = TCPOptions(
            maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
            timestamp: .init(value: 100, echoReply: 0))
        let driver = SessionDriver(options: options)
        let syn = toTarget(
            seq: 1000, ack: 0, .syn,
            options: TCPOptions(maximumSegmentSize: 1460, windowScale: 7, timestamp: .init(value: 100, echoReply: 0)))
        #expect(driver.started == [.register(Lab.key), .send(syn)])
        #expect(driver.state == .synSent)
        // On the wire: MSS, window scale and timestamps, and no SACK-permitted option (kind 4).
        let wire = syn.encode()
        let parsed = try TCPPacket.parse(wire, requirePayload: true).get()
        #expect(!parsed.options.sackPermitted)
        #expect(parsed.sequence == SequenceNumber(1000))
        #expect(
            Array(wire[40..<parsed.headerLength]) == [2, 4, 5, 180, 1, 3, 3, 7, 1, 1, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0])
    }

    @Test func synWithoutOptionsSendsNone() {
        let driver = SessionDriver(options: TCPOptions())
        #expect(driver.started == [.register(Lab.key), .send(toTarget(seq: 1000, ack: 0, .syn))])
    }

    @Test func synAckIsAcknowledgedByTheQueuedRequest() {
        var driver = SessionDriver()
        #expect(driver.client(seq: c, ack: s, at: 1).isEmpty)
        let data = request(100)
        #expect(driver.client(seq: c, ack: s, [.ack, .psh], payload: data, at: 2).isEmpty)
        #expect(driver.state == .synSent)
        // The request carries the handshake's ACK, as a client's TCP sends it: no bare ACK.
        let actions = driver.synAck(at: 3)
        #expect(actions == [.send(toTarget(seq: c, ack: t, [.ack, .psh], payload: data))])
        #expect(driver.state == .established)
        #expect(driver.tick(at: 100).isEmpty)
    }

    @Test func synAckWithNothingToSendIsAcknowledgedAtOnce() {
        var driver = SessionDriver()
        #expect(driver.client(seq: c, ack: s, at: 1).isEmpty)
        // The handshake must complete: no delay for this ACK.
        #expect(driver.synAck(at: 3) == [.send(toTarget(seq: c, ack: t, .ack))])
        #expect(driver.state == .established)
        #expect(driver.tick(at: 100).isEmpty)
    }

    @Test func synAckWithARequestHeldByTheGateIsAcknowledgedAtOnce() {
        var driver = SessionDriver()
        #expect(driver.client(seq: c, ack: s, at: 1).isEmpty)
        // A request written after the online server had answered 500 bytes: it waits.
        #expect(driver.client(seq: c, ack: s + 500, payload: request(10), at: 2).isEmpty)
        #expect(driver.synAck(at: 3) == [.send(toTarget(seq: c, ack: t, .ack))])
    }

    @Test func synAckForAnotherSYNIsIgnored() {
        var driver = SessionDriver()
        let actions = driver.target(seq: 700_000, ack: 1002, [.syn, .ack], at: 1)
        #expect(actions.isEmpty)
        #expect(driver.state == .synSent)
        // Nor does a bare ACK or data before the SYN-ACK count for anything.
        #expect(driver.target(seq: t, ack: c, .ack, length: 10, at: 2).isEmpty)
        #expect(driver.state == .synSent)
    }

    /// The request carried our ACK of the SYN-ACK and the target repeats its SYN-ACK: the
    /// handshake did not complete there, so the request goes again, its sequence number where
    /// the target's handshake (a SYN cookie's check, too) expects the ACK.
    @Test func repeatedSynAckResendsTheUnacknowledgedRequest() {
        var driver = SessionDriver()
        driver.establish()
        let data = request(10)
        #expect(driver.client(seq: c, ack: s, payload: data, at: 2).sent.count == 1)
        let again = driver.synAck(at: 3)
        #expect(again == [.send(toTarget(seq: c, ack: t, [.ack, .psh], payload: data))])
        #expect(driver.state == .established)
        #expect(driver.session.retransmissions == 1)
    }

    /// With nothing unacknowledged, a repeated SYN-ACK is answered by an ACK at once.
    @Test func repeatedSynAckWithNothingInFlightIsAcknowledgedAgain() {
        var driver = SessionDriver()
        driver.establish()
        #expect(driver.synAck(at: 3) == [.send(toTarget(seq: c, ack: t, .ack))])
    }

    @Test func clientSYNRetransmissionDoesNothing() {
        var driver = SessionDriver()
        let again = driver.client(seq: 1000, ack: 0, .syn, options: SessionDriver.synOptions, at: 500)
        #expect(again.isEmpty)
        #expect(driver.session.isStartedBy(driver.client.packet(seq: 1000, .syn).packet))
        #expect(!driver.session.isStartedBy(driver.client.packet(seq: 1001, .syn).packet))
    }

    @Test func windowScaleIsUsedOnlyWhenBothSidesOfferIt() {
        // The target offers scale 2 and a SYN window of 1000; later windows are scaled by 4.
        var scaled = SessionDriver()
        scaled.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1460, windowScale: 2))
        _ = scaled.target(seq: t, ack: c, window: 300, at: 2)  // 1200 bytes
        #expect(scaled.client(seq: c, ack: s, payload: request(1000), at: 3).sent.count == 1)
        #expect(scaled.client(seq: c + 1000, ack: s, payload: request(200), at: 3).sent.count == 1)
        #expect(scaled.client(seq: c + 1200, ack: s, payload: request(1), at: 3).isEmpty)

        // Our SYN did not offer a scale: the target's 300 is 300 bytes.
        var unscaled = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460))
        unscaled.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1460, windowScale: 2))
        _ = unscaled.target(seq: t, ack: c, window: 300, at: 2)
        #expect(unscaled.client(seq: c, ack: s, payload: request(300), at: 3).sent.count == 1)
        #expect(unscaled.client(seq: c + 300, ack: s, payload: request(1), at: 3).isEmpty)
        // Acknowledged: the window is free again.
        #expect(unscaled.target(seq: t, ack: c + 300, window: 300, at: 4).sent.count == 1)
    }
}

/// The target answers the SYN with a bare ACK when it still holds an older connection on the
/// port (TIME_WAIT): we reset that connection, as a client's TCP would, and send the SYN again.
@Suite struct EmulatedSessionStaleConnectionTests {
    @Test func aChallengeACKIsAnsweredWithARSTAtItsAcknowledgmentAndANewSYN() throws {
        var driver = SessionDriver()
        let actions = driver.target(seq: 123_456, ack: 99_999, .ack, at: 5)
        try #require(actions.count == 2)
        guard case .send(let reset) = actions[0], case .send(let syn) = actions[1] else {
            Issue.record("expected two segments, got \(actions)")
            return
        }
        #expect(reset.flags == .rst)
        #expect(reset.sequence == SequenceNumber(99_999))
        #expect(reset.options == TCPOptions())
        #expect(syn.flags == .syn)
        #expect(syn.sequence == SequenceNumber(driver.clientISN))
        #expect(driver.state == .synSent)
        // The new connection then starts as usual.
        #expect(!driver.synAck(at: 6).isEmpty)
        #expect(driver.state == .established)
    }

    @Test func aTargetThatKeepsAnsweringSoIsLeftToTheRetransmissionTimer() {
        var driver = SessionDriver()
        for attempt in 1...3 {
            #expect(driver.target(seq: 123_456, ack: 99_999, .ack, at: Int64(attempt)).count == 2)
        }
        #expect(driver.target(seq: 123_456, ack: 99_999, .ack, at: 4).isEmpty)
    }

    @Test func anACKOfOurOwnSYNIsNotAStaleConnection() {
        var driver = SessionDriver()
        #expect(driver.target(seq: 123_456, ack: driver.clientISN &+ 1, .ack, at: 1).isEmpty)
    }
}

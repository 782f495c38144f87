import Testing

@testable import TCPCopyCore

/// What we acknowledge: the target's stream as its headers describe it, never the captured ack.
@Suite struct EmulatedSessionAcknowledgmentTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    @Test func everySentPacketCarriesTheTargetsLatestPosition() {
        var driver = SessionDriver()
        driver.establish()
        var expectedAck = t
        var seq = c
        for round in 0..<5 {
            let length = 100 * (round + 1)
            // A pipelined request: the client's own ack (its view of the online server) is ignored.
            let sent = driver.client(seq: seq, ack: s, payload: request(10), at: Int64(10 + round * 10)).sent
            #expect(sent.map(\.acknowledgment) == [SequenceNumber(expectedAck)])
            seq += 10
            // Acknowledged by the next request, within the delay: no bare ACK.
            #expect(driver.target(seq: expectedAck, ack: seq, length: length, at: Int64(15 + round * 10)).isEmpty)
            expectedAck += UInt32(length)
        }
        #expect(driver.tick(at: 95) == [.send(toTarget(seq: seq, ack: expectedAck, .ack))])
    }

    @Test func targetDataIsAcknowledgedByUsNotByTheClientsPureAcks() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        #expect(driver.target(seq: t, ack: c + 10, length: 1448, at: 11).isEmpty)
        // The client's own ACK of the online server's answer is not forwarded...
        #expect(driver.client(seq: c + 10, ack: s + 1448, at: 12).isEmpty)
        // ...ours goes when its delay is over.
        #expect(driver.tick(at: 51) == [.send(toTarget(seq: c + 10, ack: t + 1448, .ack))])
    }

    @Test func pureAckFromTheTargetIsNotAcknowledged() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        #expect(driver.target(seq: t, ack: c + 10, at: 11).isEmpty)
    }

    @Test func targetFINCountsOneInTheAck() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        #expect(driver.target(seq: t, ack: c + 10, [.ack, .fin], length: 20, at: 11).isEmpty)
        #expect(driver.tick(at: 51) == [.send(toTarget(seq: c + 10, ack: t + 21, .ack))])
    }

    @Test func targetRetransmissionIsAcknowledgedAgainWithoutMovingBack() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        #expect(driver.target(seq: t, ack: c + 10, length: 500, at: 11).isEmpty)
        // The same 500 bytes again (our ACK was lost, or is late): acknowledged at once, not
        // delayed, and only once.
        #expect(
            driver.target(seq: t, ack: c + 10, length: 500, at: 12) == [
                .send(toTarget(seq: c + 10, ack: t + 500, .ack))
            ])
        // A part of it: still the furthest position.
        #expect(
            driver.target(seq: t + 100, ack: c + 10, length: 100, at: 13) == [
                .send(toTarget(seq: c + 10, ack: t + 500, .ack))
            ])
        #expect(driver.tick(at: 51).isEmpty)
    }

    @Test func dataOutOfOrderFromTheTargetAdvancesToItsEnd() {
        // We never see the target's payload, only its headers: a later segment whose header we
        // see (an earlier one's was lost on the way) moves our acknowledgment to its end.
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        _ = driver.target(seq: t + 1000, ack: c + 10, length: 1000, at: 11)
        #expect(driver.tick(at: 51).sent.map(\.acknowledgment) == [SequenceNumber(t + 2000)])
    }

    @Test func fastRetransmitAfterThreeDuplicateAcks() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100, tag: 1), at: 10)
        _ = driver.client(seq: c + 100, ack: s, payload: request(100, tag: 2), at: 10)
        #expect(driver.target(seq: t, ack: c + 100, at: 11).isEmpty)
        #expect(driver.target(seq: t, ack: c + 100, at: 12).isEmpty)
        #expect(driver.target(seq: t, ack: c + 100, at: 13).isEmpty)
        #expect(
            driver.target(seq: t, ack: c + 100, at: 14) == [
                .send(toTarget(seq: c + 100, ack: t, [.ack, .psh], payload: request(100, tag: 2)))
            ])
        #expect(driver.target(seq: t, ack: c + 100, at: 15).isEmpty)
        #expect(driver.session.retransmissions == 1)
    }

    @Test func acknowledgmentBeyondWhatWeSentIsIgnored() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        // A bogus ack (beyond our data) must not count as acknowledging it.
        _ = driver.target(seq: t, ack: c + 500, at: 11)
        #expect(driver.tick(at: 310) == [.send(toTarget(seq: c, ack: t, [.ack, .psh], payload: request(100)))])
    }
}

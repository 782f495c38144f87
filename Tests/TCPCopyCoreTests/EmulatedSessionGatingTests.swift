import Testing

@testable import TCPCopyCore

/// Request gating: the client's next request waits until the target has answered the last one.
@Suite struct EmulatedSessionGatingTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    @Test func nextRequestWaitsForAsMuchAnswerAsTheClientRead() {
        var driver = SessionDriver()
        driver.establish()
        let first = request(100, tag: 1)
        let second = request(50, tag: 2)
        #expect(
            driver.client(seq: c, ack: s, payload: first, at: 10) == [
                .send(toTarget(seq: c, ack: t, [.ack, .psh], payload: first))
            ])
        // The client read 500 bytes from the online server before writing its second request.
        #expect(driver.client(seq: c + 100, ack: s + 500, payload: second, at: 20).isEmpty)
        // 300 bytes from the target: not enough (and our ACK of them waits for a ride).
        #expect(driver.target(seq: t, ack: c + 100, length: 300, at: 30).isEmpty)
        // 200 more: now the target has said as much as the online server did. The request
        // carries the ACK of all 500.
        #expect(
            driver.target(seq: t + 300, ack: c + 100, length: 200, at: 40) == [
                .send(toTarget(seq: c + 100, ack: t + 500, [.ack, .psh], payload: second))
            ])
    }

    /// A held request's timer is the gate's clock, not a poll: here a silent target's (1 s after
    /// the first request's release, the target having acknowledged it and answered nothing).
    @Test func heldRequestsTimerIsWhenTheGateOpens() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        #expect(driver.client(seq: c + 100, ack: s + 500, payload: request(50), at: 20).isEmpty)
        #expect(driver.target(seq: t, ack: c + 100, length: 0, at: 30).isEmpty)
        let deadline = driver.session.nextDeadline(now: MonotonicTime(milliseconds: 30))
        #expect(deadline == MonotonicTime(milliseconds: 10 + SessionTuning().silentTargetMilliseconds))
        #expect(driver.tick(at: 1009).isEmpty)
        #expect(driver.tick(at: 1010).sent.map(\.sequence) == [SequenceNumber(c + 100)])
    }

    @Test func aLongerAnswerAlsoReleases() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        _ = driver.target(seq: t, ack: c + 100, length: 2000, at: 20)
        // The answer came first; the request that follows goes at once.
        #expect(driver.client(seq: c + 100, ack: s + 500, payload: request(7), at: 30).sent.count == 1)
    }

    @Test func eachReleaseStartsANewCount() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        _ = driver.target(seq: t, ack: c + 10, length: 100, at: 11)
        #expect(driver.client(seq: c + 10, ack: s + 100, payload: request(10), at: 12).sent.count == 1)
        // The third request needs 100 more bytes answered after the second was released; the
        // first answer does not count again.
        #expect(driver.client(seq: c + 20, ack: s + 200, payload: request(10), at: 13).isEmpty)
        #expect(driver.target(seq: t + 100, ack: c + 20, length: 99, at: 14).isEmpty)
        #expect(driver.target(seq: t + 199, ack: c + 20, length: 1, at: 15).sent.count == 1)
    }

    @Test func pipelinedSegmentsWithTheSameAckGoAtOnce() {
        var driver = SessionDriver()
        driver.establish()
        for index: UInt32 in 0..<5 {
            let sent = driver.client(seq: c + index * 100, ack: s, payload: request(100, tag: UInt8(index)), at: 10)
            #expect(
                sent == [
                    .send(
                        toTarget(seq: c + index * 100, ack: t, [.ack, .psh], payload: request(100, tag: UInt8(index))))
                ])
        }
    }

    @Test func heldRequestGoesWhenTheTargetAnsweredLessAndWentQuiet() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        #expect(driver.client(seq: c + 100, ack: s + 500, payload: request(5), at: 20).isEmpty)
        // The target's answer is shorter (300) and acknowledges everything.
        _ = driver.target(seq: t, ack: c + 100, length: 300, at: 1000)
        // Nothing of ours carried the ACK within the delay: it goes bare.
        #expect(driver.tick(at: 1040) == [.send(toTarget(seq: c + 100, ack: t + 300, .ack))])
        #expect(driver.tick(at: 1299).isEmpty)
        #expect(
            driver.tick(at: 1300) == [.send(toTarget(seq: c + 100, ack: t + 300, [.ack, .psh], payload: request(5)))])
    }

    @Test func quietRuleNeedsOurDataAcknowledged() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        _ = driver.client(seq: c + 100, ack: s + 500, payload: request(5), at: 20)
        // An answer that does not acknowledge our request: the quiet rule does not apply.
        _ = driver.target(seq: t, ack: c, length: 300, at: 30)
        let later = driver.tick(at: 330)
        // (The tick resends the unacknowledged request instead.)
        #expect(later == [.send(toTarget(seq: c, ack: t + 300, [.ack, .psh], payload: request(100)))])
    }

    @Test func heldRequestGoesAfterTheMaximumWaitWhateverTheTargetDid() {
        var tuning = SessionTuning()
        tuning.responseWaitMilliseconds = 5000
        tuning.silentTargetMilliseconds = 60_000  // only the maximum wait is under test here
        var driver = SessionDriver(tuning: tuning)
        driver.establish(at: 0)
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 0)
        _ = driver.target(seq: t, ack: c + 100, at: 50)  // acknowledged, nothing answered
        #expect(driver.client(seq: c + 100, ack: s + 500, payload: request(5), at: 100).isEmpty)
        #expect(driver.tick(at: 4999).isEmpty)
        #expect(driver.tick(at: 5000) == [.send(toTarget(seq: c + 100, ack: t, [.ack, .psh], payload: request(5)))])
    }

    @Test func requestsQueuedBehindAHeldOneWaitInOrder() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        #expect(driver.client(seq: c + 10, ack: s + 50, payload: request(10, tag: 1), at: 11).isEmpty)
        // A pipelined segment of the same second burst must not overtake it.
        #expect(driver.client(seq: c + 20, ack: s + 50, payload: request(10, tag: 2), at: 12).isEmpty)
        let released = driver.target(seq: t, ack: c + 10, length: 50, at: 13).sent
        #expect(released.map(\.sequence) == [c + 10, c + 20].map(SequenceNumber.init))
        #expect(released.map(\.flags) == [[.ack, .psh], [.ack, .psh]])
        #expect(released.map(\.acknowledgment) == [t + 50, t + 50].map(SequenceNumber.init))
    }

    @Test func gateUnitAllowsByTheNumbers() {
        var tuning = SessionTuning()
        tuning.responseQuietMilliseconds = 100
        tuning.responseWaitMilliseconds = 1000
        let start = MonotonicTime(milliseconds: 0)
        var gate = RequestGate(now: start)
        // No baseline yet: everything goes.
        #expect(gate.allows(clientAck: SequenceNumber(99), everythingAcked: false, quietMilliseconds: 100, now: start, tuning: tuning))
        gate.setBaseline(clientAck: SequenceNumber(0xFFFF_FFF0))
        gate.setBaseline(clientAck: SequenceNumber(5))  // only the first baseline counts
        #expect(gate.releasedAck == SequenceNumber(0xFFFF_FFF0))
        let next = SequenceNumber(0x10)  // 0x20 further, across the wrap
        #expect(!gate.allows(clientAck: next, everythingAcked: true, quietMilliseconds: 100, now: start, tuning: tuning))
        gate.noteAnswer(0x1F, now: MonotonicTime(milliseconds: 10))
        #expect(
            !gate.allows(clientAck: next, everythingAcked: true, quietMilliseconds: 100, now: MonotonicTime(milliseconds: 109), tuning: tuning))
        #expect(
            gate.allows(clientAck: next, everythingAcked: true, quietMilliseconds: 100, now: MonotonicTime(milliseconds: 110), tuning: tuning))
        #expect(
            !gate.allows(clientAck: next, everythingAcked: false, quietMilliseconds: 100, now: MonotonicTime(milliseconds: 110), tuning: tuning)
        )
        gate.noteAnswer(1, now: MonotonicTime(milliseconds: 20))
        #expect(
            gate.allows(clientAck: next, everythingAcked: false, quietMilliseconds: 100, now: MonotonicTime(milliseconds: 20), tuning: tuning))
        gate.release(clientAck: next, now: MonotonicTime(milliseconds: 30))
        #expect(gate.releasedAck == next && gate.answered == 0)
        // An older acknowledgment neither waits nor moves the baseline back.
        #expect(gate.allows(clientAck: SequenceNumber(0xFFFF_FFF8), everythingAcked: false, quietMilliseconds: 100, now: start, tuning: tuning))
        gate.release(clientAck: SequenceNumber(0xFFFF_FFF8), now: MonotonicTime(milliseconds: 40))
        #expect(gate.releasedAck == next)
        #expect(
            !gate.allows(
                clientAck: next + 1, everythingAcked: false, quietMilliseconds: 100, now: MonotonicTime(milliseconds: 1029), tuning: tuning))
        #expect(
            gate.allows(
                clientAck: next + 1, everythingAcked: false, quietMilliseconds: 100, now: MonotonicTime(milliseconds: 1030), tuning: tuning))
    }

    /// The clock-only opening time matches `allows`: false a millisecond before, true at it.
    @Test func gateOpensByClockWhenAllowsTurnsTrue() {
        var tuning = SessionTuning()
        tuning.responseWaitMilliseconds = 1000
        tuning.silentTargetMilliseconds = 300
        var gate = RequestGate(now: .zero)
        gate.setBaseline(clientAck: SequenceNumber(100))
        gate.release(clientAck: SequenceNumber(100), now: MonotonicTime(milliseconds: 5))
        let next = SequenceNumber(200)
        func check(everythingAcked: Bool, _ expected: Int64) {
            let opens = gate.opensByClock(everythingAcked: everythingAcked, quietMilliseconds: 50, tuning: tuning)
            #expect(opens == MonotonicTime(milliseconds: expected))
            #expect(
                !gate.allows(
                    clientAck: next, everythingAcked: everythingAcked, quietMilliseconds: 50, now: opens + (-1),
                    tuning: tuning))
            #expect(
                gate.allows(clientAck: next, everythingAcked: everythingAcked, quietMilliseconds: 50, now: opens, tuning: tuning))
        }
        check(everythingAcked: false, 1005)  // the maximum wait
        check(everythingAcked: true, 305)  // a silent target
        gate.noteAnswer(10, now: MonotonicTime(milliseconds: 40))
        check(everythingAcked: true, 90)  // answered, then quiet
        check(everythingAcked: false, 1005)
    }

    /// A connection opened and then left idle (a client's connection pool) before its first
    /// request. The first request carries the handshake's acknowledgment; its release must still
    /// start the maximum wait, or the second request would go before the target answered.
    @Test func maximumWaitCountsFromTheFirstRequestNotFromTheHandshake() {
        var driver = SessionDriver()
        driver.establish(at: 1)
        let first = request(100, tag: 1)
        #expect(driver.client(seq: c, ack: s, payload: first, at: 20_000).sent.count == 1)
        // The online server answered 500 bytes; the target has not answered yet.
        let second = driver.client(seq: c + 100, ack: s + 500, payload: request(50, tag: 2), at: 20_050)
        #expect(second.isEmpty)
        // It waits for the answer, then goes (carrying the ACK of the answer).
        #expect(driver.target(seq: t, ack: c + 100, length: 500, at: 20_100).sent.count == 1)
    }

    /// Finding F2 (redis): the target's answer is a byte shorter than the online server's. The
    /// next request must not wait 300 ms for it: two round trips of quiet (a few ms on a LAN)
    /// mark the answer as complete.
    @Test func shorterAnswerReleasesTheNextRequestAfterAFewRoundTripsOfQuiet() {
        var driver = SessionDriver()
        driver.establish(at: 1)
        #expect(driver.client(seq: c, ack: s, payload: request(30, tag: 1), at: 10).sent.count == 1)
        // The online server answered 7 bytes (":1999\r\n"); the target answers 6 (":999\r\n").
        _ = driver.target(seq: t, ack: c + 30, length: 6, at: 11)
        #expect(driver.client(seq: c + 30, ack: s + 7, payload: request(30, tag: 2), at: 12).isEmpty)
        #expect(driver.tick(at: 15).isEmpty)
        #expect(driver.tick(at: 30).sent.map(\.payload.count) == [30])
    }

    /// Finding F6: the online server sent "100 Continue"; the target, which need not, stays
    /// silent and waits for the body. Once it has acknowledged the headers and stayed silent
    /// for a second, the body goes.
    @Test func silentTargetGetsTheNextSegmentsAfterASecond() {
        var driver = SessionDriver()
        driver.establish(at: 1)
        #expect(driver.client(seq: c, ack: s, payload: request(40, tag: 1), at: 10).sent.count == 1)
        _ = driver.target(seq: t, ack: c + 40, at: 11)  // acknowledged, no answer
        #expect(driver.client(seq: c + 40, ack: s + 25, payload: request(100, tag: 2), at: 12).isEmpty)
        #expect(driver.tick(at: 1009).isEmpty)
        #expect(driver.tick(at: 1010).sent.map(\.payload.count) == [100])
    }

    /// Finding F7: under CPU load round trips stretch, and so would the quiet wait. The end of a
    /// target's write (PSH) that brings at least half the online answer releases the next
    /// request at once; a short write (headers sent apart from the body) does not.
    @Test func pushedAnswerReleasesAtOnceUnlessItIsFarShorter() {
        var driver = SessionDriver()
        driver.establish(at: 1)
        #expect(driver.client(seq: c, ack: s, payload: request(30, tag: 1), at: 10).sent.count == 1)
        #expect(driver.client(seq: c + 30, ack: s + 1000, payload: request(30, tag: 2), at: 11).isEmpty)
        // 200 bytes of headers, pushed: far short of the online server's 1000.
        let headers = driver.target(seq: t, ack: c + 30, [.ack, .psh], length: 200, at: 12)
        #expect(headers.isEmpty)
        // The body, pushed: 900 of 1000 bytes in all, so the answer is complete.
        let body = driver.target(seq: t + 200, ack: c + 30, [.ack, .psh], length: 700, at: 13)
        #expect(body.sent.map(\.payload.count) == [30])
    }
}

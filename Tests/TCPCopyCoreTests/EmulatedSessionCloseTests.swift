import Testing

@testable import TCPCopyCore

/// FIN, RST and timeouts: how sessions end.
@Suite struct EmulatedSessionCloseTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    @Test func clientFINWaitsUntilTheTargetAckedAllData() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        // The client half-closes right after its request.
        #expect(driver.client(seq: c + 100, ack: s, [.ack, .fin], at: 11).isEmpty)
        #expect(driver.state == .established)
        // A partial ack is not enough.
        #expect(driver.target(seq: t, ack: c + 50, at: 12).isEmpty)
        #expect(driver.target(seq: t, ack: c + 100, at: 13) == [.send(toTarget(seq: c + 100, ack: t, [.ack, .fin]))])
        #expect(driver.state == .finWait1)
    }

    @Test func clientClosesFirst() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        // The target answers 500 bytes, acknowledging the request; our ACK waits.
        #expect(driver.target(seq: t, ack: c + 100, length: 500, at: 20).isEmpty)
        // The client read the online server's 500 bytes, then closed: the FIN carries the ACK.
        #expect(
            driver.client(seq: c + 100, ack: s + 500, [.ack, .fin], at: 30) == [
                .send(toTarget(seq: c + 100, ack: t + 500, [.ack, .fin]))
            ])
        #expect(driver.state == .finWait1)
        #expect(driver.target(seq: t + 500, ack: c + 101, at: 40).isEmpty)
        #expect(driver.state == .finWait2)
        let end = driver.target(seq: t + 500, ack: c + 101, [.ack, .fin], at: 50)
        // The ACK of the target's FIN, then a RST: we keep no TIME-WAIT, so if that ACK is lost
        // the RST still releases the target's LAST-ACK socket.
        #expect(
            end == [
                .send(toTarget(seq: c + 101, ack: t + 501, .ack)),
                .send(toTarget(seq: c + 101, ack: t + 501, [.rst, .ack])),
                .finished(Lab.key, .completed),
            ])
        #expect(driver.state == .closed(.completed))
        #expect(driver.session.isClosed)
    }

    @Test func targetAcksOurFINAndClosesInOnePacket() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, [.ack, .fin], at: 10)
        #expect(driver.state == .finWait1)
        let end = driver.target(seq: t, ack: c + 1, [.ack, .fin], at: 11)
        #expect(
            end == [
                .send(toTarget(seq: c + 1, ack: t + 1, .ack)),
                .send(toTarget(seq: c + 1, ack: t + 1, [.rst, .ack])),
                .finished(Lab.key, .completed),
            ])
    }

    @Test func targetClosesFirstAsWithConnectionClose() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        // The target answers and closes: "Connection: close". Our ACK waits for our FIN.
        #expect(driver.target(seq: t, ack: c + 100, [.ack, .psh, .fin], length: 500, at: 20).isEmpty)
        #expect(driver.state == .closeWait)
        // The client saw the online server do the same (500 bytes and a FIN), and closes too: its
        // FIN acknowledges the target's answer and FIN.
        #expect(
            driver.client(seq: c + 100, ack: s + 501, [.ack, .fin], at: 30) == [
                .send(toTarget(seq: c + 100, ack: t + 501, [.ack, .fin]))
            ])
        #expect(driver.state == .lastAck)
        #expect(driver.target(seq: t + 501, ack: c + 101, at: 40) == [.finished(Lab.key, .completed)])
    }

    @Test func simultaneousCloseGoesThroughClosing() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, [.ack, .fin], at: 10)
        // The target's FIN crosses ours: it does not acknowledge our FIN yet.
        #expect(driver.target(seq: t, ack: c, [.ack, .fin], at: 11) == [.send(toTarget(seq: c + 1, ack: t + 1, .ack))])
        #expect(driver.state == .closing)
        #expect(driver.target(seq: t + 1, ack: c + 1, at: 12) == [.finished(Lab.key, .completed)])
    }

    @Test func halfClosedTargetIsResetAfterFinWait2Timeout() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, [.ack, .fin], at: 10)
        _ = driver.target(seq: t, ack: c + 1, at: 20)
        #expect(driver.state == .finWait2)
        #expect(driver.tick(at: 5019).isEmpty)
        #expect(
            driver.tick(at: 5020) == [
                .send(toTarget(seq: c + 1, ack: t, [.rst, .ack])), .finished(Lab.key, .completed),
            ])
    }

    @Test func targetResetEndsTheSession() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        #expect(driver.target(seq: t, ack: c + 100, [.rst, .ack], at: 20) == [.finished(Lab.key, .resetByTarget)])
        #expect(driver.state == .closed(.resetByTarget))
        // Nothing more happens to a closed session.
        #expect(driver.client(seq: c + 100, ack: s, payload: request(5), at: 21).isEmpty)
        #expect(driver.target(seq: t, ack: c + 100, length: 10, at: 22).isEmpty)
        #expect(driver.tick(at: 1_000_000).isEmpty)
    }

    /// A session's port may have carried an older connection the target still holds; a RST of
    /// that connection, in its own sequence space, must not end the session.
    @Test func aResetOfAnOlderConnectionOnThePortIsIgnored() {
        var driver = SessionDriver()
        // During the handshake: a RST without ACK, or acknowledging something else.
        #expect(driver.target(seq: 0x4000_0000, ack: 0, .rst, at: 1).isEmpty)
        #expect(driver.target(seq: 0x4000_0000, ack: 77_777, [.rst, .ack], at: 1).isEmpty)
        #expect(driver.state == .synSent)
        driver.establish(at: 2)
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        // Established: a RST far from the target's stream.
        #expect(driver.target(seq: t &+ 0x4000_0000, ack: c + 100, [.rst, .ack], at: 20).isEmpty)
        #expect(driver.target(seq: t &- 1, ack: c + 100, .rst, at: 20).isEmpty)
        #expect(driver.state == .established)
        #expect(driver.session.strayResets == 4)
        // The target's own reset, a little past what we saw of its stream (a segment missed).
        #expect(driver.target(seq: t + 1000, ack: c + 100, .rst, at: 21) == [.finished(Lab.key, .resetByTarget)])
    }

    @Test func targetResetDuringTheHandshake() {
        // A target that refuses the connection (port closed).
        var driver = SessionDriver()
        #expect(driver.target(seq: 0, ack: 1001, [.rst, .ack], at: 5) == [.finished(Lab.key, .resetByTarget)])
    }

    @Test func clientResetIsPassedOnAfterItsDataWasAcked() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        #expect(driver.client(seq: c + 100, ack: s, [.rst, .ack], at: 11).isEmpty)
        #expect(
            driver.target(seq: t, ack: c + 100, at: 12) == [
                .send(toTarget(seq: c + 100, ack: t, [.rst, .ack])), .finished(Lab.key, .clientReset),
            ])
    }

    @Test func idleSessionIsResetAndTimedOut() {
        var tuning = SessionTuning()
        tuning.idleTimeoutMilliseconds = 60_000
        var driver = SessionDriver(tuning: tuning)
        driver.establish(at: 5)
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 10)
        _ = driver.target(seq: t, ack: c + 10, length: 20, at: 20)
        #expect(driver.tick(at: 60).sent.map(\.flags) == [.ack])  // our delayed ACK
        #expect(driver.tick(at: 60_019).isEmpty)
        #expect(
            driver.tick(at: 60_020) == [
                .send(toTarget(seq: c + 10, ack: t + 20, [.rst, .ack])), .finished(Lab.key, .timedOut),
            ])
        #expect(driver.state == .closed(.timedOut))
    }

    @Test func idleDuringTheHandshakeResetsWithTheSYNsSequence() {
        var tuning = SessionTuning()
        tuning.idleTimeoutMilliseconds = 500  // shorter than the SYN retransmission
        var driver = SessionDriver(tuning: tuning)
        #expect(driver.tick(at: 500) == [.send(toTarget(seq: 1001, ack: 0, .rst)), .finished(Lab.key, .timedOut)])
    }

    @Test func abortResetsOnce() {
        var driver = SessionDriver()
        driver.establish()
        var actions: [SessionAction] = []
        driver.session.abort(.aborted, now: MonotonicTime(milliseconds: 50), actions: &actions)
        #expect(actions == [.send(toTarget(seq: c, ack: t, [.rst, .ack])), .finished(Lab.key, .aborted)])
        actions = []
        driver.session.abort(.aborted, now: MonotonicTime(milliseconds: 60), actions: &actions)
        #expect(actions.isEmpty)
    }

    @Test func dataAfterTheClientsFINIsIgnored() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, [.ack, .fin], at: 10)
        #expect(driver.client(seq: c + 1, ack: s, payload: request(10), at: 11).isEmpty)
        #expect(driver.session.bufferedBytes == 0)
    }

    /// Fleet finding 8: our FIN and the target's cross. The target's FIN does not acknowledge
    /// ours, so it goes FIN-WAIT-1, CLOSING, TIME-WAIT: the port must cool as if it closed first.
    @Test func crossingFinsLeaveTheTargetInTimeWait() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, [.ack, .fin], at: 10)
        #expect(driver.state == .finWait1)
        _ = driver.target(seq: t, ack: c, [.ack, .fin], at: 11)  // sent before it saw our FIN
        #expect(driver.state == .closing)
        _ = driver.target(seq: t + 1, ack: c + 1, .ack, at: 12)
        #expect(driver.state == .closed(.completed))
        #expect(driver.session.targetHoldsTimeWait)
    }

    @Test func targetFinThatAcknowledgesOursMeansNoTimeWaitThere() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, [.ack, .fin], at: 10)
        _ = driver.target(seq: t, ack: c + 1, [.ack, .fin], at: 11)
        #expect(driver.state == .closed(.completed))
        #expect(!driver.session.targetHoldsTimeWait)
    }
}

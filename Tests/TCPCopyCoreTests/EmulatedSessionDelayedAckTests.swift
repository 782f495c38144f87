import Testing

@testable import TCPCopyCore

/// When our ACK of the target's data goes: on the next segment we send if one goes within the
/// delay (40 ms by default), bare at the deadline otherwise, at once when waiting would hurt.
@Suite struct EmulatedSessionDelayedAckTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    /// Established, the request (100 bytes) sent at 10 ms.
    func requestSent(tuning: SessionTuning = SessionTuning(), options: TCPOptions = SessionDriver.synOptions)
        -> SessionDriver
    {
        var driver = SessionDriver(options: options, tuning: tuning)
        driver.establish()
        #expect(driver.client(seq: c, ack: s, payload: request(100), at: 10).sent.count == 1)
        return driver
    }

    @Test func theClientsFINWithinTheDelayCarriesTheACK() {
        var driver = requestSent()
        #expect(driver.target(seq: t, ack: c + 100, [.ack, .psh], length: 500, at: 20).isEmpty)
        #expect(
            driver.client(seq: c + 100, ack: s + 500, [.ack, .fin], at: 30) == [
                .send(toTarget(seq: c + 100, ack: t + 500, [.ack, .fin]))
            ])
        // Nothing is owed any more: no bare ACK at the deadline.
        #expect(driver.tick(at: 60).isEmpty)
    }

    /// The client's FIN, captured before the target answered, waits for the whole answer, the
    /// target's FIN included, even past a pushed write that would release a request: so it
    /// carries the ACK of that FIN and the session needs no bare ACK (three packets in all).
    @Test func theClientsFINWaitsForTheTargetsFINAndCarriesItsACK() {
        var driver = requestSent()
        // The client read 500 bytes and the online server's FIN (501), then closed.
        #expect(driver.client(seq: c + 100, ack: s + 501, [.ack, .fin], at: 15).isEmpty)
        #expect(driver.target(seq: t, ack: c + 100, [.ack, .psh], length: 500, at: 20).isEmpty)
        #expect(
            driver.target(seq: t + 500, ack: c + 100, [.ack, .fin], at: 21) == [
                .send(toTarget(seq: c + 100, ack: t + 501, [.ack, .fin]))
            ])
        #expect(driver.tick(at: 70).isEmpty)
    }

    @Test func withNothingToCarryItTheACKGoesBareAtTheDeadline() {
        var driver = requestSent()
        #expect(driver.target(seq: t, ack: c + 100, length: 500, at: 20).isEmpty)
        #expect(driver.tick(at: 59).isEmpty)
        #expect(driver.tick(at: 60) == [.send(toTarget(seq: c + 100, ack: t + 500, .ack))])
        #expect(driver.tick(at: 61).isEmpty)
    }

    @Test func theDelayRunsFromTheFirstSegmentNotAcknowledged() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        // A second small segment does not push the deadline back.
        #expect(driver.target(seq: t + 500, ack: c + 100, length: 500, at: 50).isEmpty)
        #expect(driver.tick(at: 60) == [.send(toTarget(seq: c + 100, ack: t + 1000, .ack))])
    }

    @Test func theDelayIsTunable() {
        var tuning = SessionTuning()
        tuning.delayedAckMilliseconds = 200
        var driver = requestSent(tuning: tuning)
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        #expect(driver.tick(at: 219).isEmpty)
        #expect(driver.tick(at: 220).sent.map(\.acknowledgment) == [SequenceNumber(t + 500)])
    }

    @Test func nextDeadlineIsThePendingACKs() {
        var driver = requestSent()
        // Only the retransmission timer (its 200 ms floor: the handshake took 1 ms) before the answer.
        #expect(driver.session.nextDeadline(now: MonotonicTime(milliseconds: 10)) == MonotonicTime(milliseconds: 210))
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        #expect(driver.session.hasShortTimer)
        #expect(driver.session.nextDeadline(now: MonotonicTime(milliseconds: 20)) == MonotonicTime(milliseconds: 60))
        _ = driver.tick(at: 60)
        // Sent: back to the idle timeout.
        #expect(!driver.session.hasShortTimer)
        #expect(
            driver.session.nextDeadline(now: MonotonicTime(milliseconds: 60)) == MonotonicTime(milliseconds: 120_020))
    }

    @Test func keepAliveTimeoutCountsFromTheLastPacketNotFromOurACK() {
        var tuning = SessionTuning()
        tuning.keepAliveTimeoutMilliseconds = 5000
        var driver = requestSent(tuning: tuning)
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        // While the ACK is owed, the deadline is the ACK's, not the keep-alive limit's.
        #expect(driver.session.nextDeadline(now: MonotonicTime(milliseconds: 20)) == MonotonicTime(milliseconds: 60))
        #expect(driver.tick(at: 60).sent.count == 1)
        #expect(driver.session.nextDeadline(now: MonotonicTime(milliseconds: 60)) == MonotonicTime(milliseconds: 5020))
        #expect(driver.tick(at: 5019).isEmpty)
        #expect(driver.tick(at: 5020).outcome == .keepAliveTimedOut)
    }

    @Test func twoFullSegmentsAreAcknowledgedAtOnce() {
        var driver = requestSent()
        // MSS 1460 both ways, no timestamps: a full segment is 1460 bytes.
        #expect(driver.target(seq: t, ack: c + 100, length: 1460, at: 20).isEmpty)
        #expect(
            driver.target(seq: t + 1460, ack: c + 100, length: 1460, at: 21) == [
                .send(toTarget(seq: c + 100, ack: t + 2920, .ack))
            ])
        // The count starts again from that ACK.
        #expect(driver.target(seq: t + 2920, ack: c + 100, length: 1460, at: 22).isEmpty)
        #expect(driver.tick(at: 62).sent.map(\.acknowledgment) == [SequenceNumber(t + 4380)])
    }

    @Test func oneSegmentAsLargeAsTwoIsAcknowledgedAtOnce() {
        // The target's GSO: intercept may see one header for many segments' worth of data.
        var driver = requestSent()
        #expect(
            driver.target(seq: t, ack: c + 100, length: 10_000, at: 20).sent.map(\.acknowledgment) == [
                SequenceNumber(t + 10_000)
            ])
    }

    @Test func withTimestampsAFullSegmentIsTwelveBytesShorter() {
        // Linux to Linux: MSS 1460, timestamps on, so the target's full segments carry 1448.
        let ts = TCPOptions.Timestamp(value: 100, echoReply: 0)
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460, timestamp: ts))
        _ = driver.client(seq: c, ack: s, options: TCPOptions(timestamp: ts), at: 1)
        _ = driver.synAck(options: TCPOptions(maximumSegmentSize: 1460, timestamp: .init(value: 7000, echoReply: 100)))
        _ = driver.client(seq: c, ack: s, payload: request(100), options: TCPOptions(timestamp: ts), at: 10)
        #expect(driver.target(seq: t, ack: c + 100, length: 1448, at: 20).isEmpty)
        #expect(driver.target(seq: t + 1448, ack: c + 100, length: 1448, at: 21).sent.count == 1)
    }

    @Test func ourSmallerMSSBoundsTheTargetsSegments() {
        // The client announced 536: the target's full segments are 536 bytes whatever its own MSS.
        var driver = requestSent(options: TCPOptions(maximumSegmentSize: 536))
        #expect(driver.target(seq: t, ack: c + 100, length: 536, at: 20).isEmpty)
        #expect(driver.target(seq: t + 536, ack: c + 100, length: 536, at: 21).sent.count == 1)
    }

    @Test func aRepeatedSegmentIsAcknowledgedAtOnce() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        _ = driver.tick(at: 60)
        // Our ACK was lost: the target resends. Waiting again would only delay its recovery.
        #expect(
            driver.target(seq: t, ack: c + 100, length: 500, at: 300) == [
                .send(toTarget(seq: c + 100, ack: t + 500, .ack))
            ])
        #expect(driver.tick(at: 340).isEmpty)
    }

    @Test func theTargetsFINAfterOursIsAcknowledgedThenReset() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        _ = driver.client(seq: c + 100, ack: s + 500, [.ack, .fin], at: 21)
        #expect(driver.state == .finWait1)
        // The target's FIN (with 10 more bytes) ends the session: ACK first, then the RST.
        #expect(
            driver.target(seq: t + 500, ack: c + 101, [.ack, .fin], length: 10, at: 22) == [
                .send(toTarget(seq: c + 101, ack: t + 511, .ack)),
                .send(toTarget(seq: c + 101, ack: t + 511, [.rst, .ack])),
                .finished(Lab.key, .completed),
            ])
    }

    @Test func theTargetsFINInClosingIsAcknowledgedAtOnce() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, at: 20)
        _ = driver.client(seq: c + 100, ack: s, [.ack, .fin], at: 21)
        // Its FIN crossed ours: no RST yet (ours is not acknowledged), but our ACK goes now.
        #expect(
            driver.target(seq: t, ack: c + 100, [.ack, .fin], at: 22) == [
                .send(toTarget(seq: c + 101, ack: t + 1, .ack))
            ])
        #expect(driver.state == .closing)
    }

    @Test func aSessionThatEndsWithAnACKOwedSendsItFirst() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, at: 20)
        _ = driver.client(seq: c + 100, ack: s, [.ack, .fin], at: 21)
        _ = driver.target(seq: t, ack: c + 100, [.ack, .fin], at: 22)
        #expect(driver.state == .closing)
        // Its FIN again (our ACK was lost), now acknowledging ours: the session ends, and the
        // repeated FIN is still answered.
        #expect(
            driver.target(seq: t, ack: c + 101, [.ack, .fin], at: 30) == [
                .send(toTarget(seq: c + 101, ack: t + 1, .ack)),
                .finished(Lab.key, .completed),
            ])
    }

    @Test func theTargetsFINBeforeOursWaitsForOurFIN() {
        var driver = requestSent()
        #expect(driver.target(seq: t, ack: c + 100, [.ack, .fin], at: 20).isEmpty)
        #expect(driver.state == .closeWait)
        // The client did not close within the delay: the ACK goes bare.
        #expect(driver.tick(at: 60) == [.send(toTarget(seq: c + 100, ack: t + 1, .ack))])
    }

    /// After 500 bytes of answer not yet acknowledged: the ACK, the RST, the end.
    func acknowledgedThenReset(_ outcome: SessionOutcome) -> [SessionAction] {
        [
            .send(toTarget(seq: c + 100, ack: t + 500, .ack)),
            .send(toTarget(seq: c + 100, ack: t + 500, [.rst, .ack])),
            .finished(Lab.key, outcome),
        ]
    }

    @Test func abortSendsTheOwedACKBeforeItsRST() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        var actions: [SessionAction] = []
        driver.session.abort(.aborted, now: MonotonicTime(milliseconds: 30), actions: &actions)
        #expect(actions == acknowledgedThenReset(.aborted))
    }

    @Test func clientResetSendsTheOwedACKBeforeItsRST() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        #expect(driver.client(seq: c + 100, ack: s + 500, [.rst, .ack], at: 30) == acknowledgedThenReset(.clientReset))
    }

    @Test func aTargetResetOwesNothing() {
        var driver = requestSent()
        _ = driver.target(seq: t, ack: c + 100, length: 500, at: 20)
        #expect(
            driver.target(seq: t + 500, ack: c + 100, [.rst, .ack], at: 30) == [.finished(Lab.key, .resetByTarget)])
    }

    @Test func aRetransmissionCarriesTheACK() {
        var tuning = SessionTuning()
        tuning.delayedAckMilliseconds = 300  // longer than the retransmission timeout (200 ms)
        var driver = requestSent(tuning: tuning)
        _ = driver.client(seq: c + 100, ack: s, payload: request(50, tag: 1), at: 11)
        // The target acknowledges the first request only, and answers; its ACK is still owed
        // when the second request is resent.
        _ = driver.target(seq: t, ack: c + 100, length: 10, at: 100)
        #expect(driver.session.nextDeadline(now: MonotonicTime(milliseconds: 100)) == MonotonicTime(milliseconds: 300))
        #expect(
            driver.tick(at: 300) == [
                .send(toTarget(seq: c + 100, ack: t + 10, [.ack, .psh], payload: request(50, tag: 1)))
            ])
        #expect(driver.tick(at: 400).isEmpty)
    }
}

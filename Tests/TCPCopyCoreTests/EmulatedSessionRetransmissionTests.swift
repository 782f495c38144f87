import Testing

@testable import TCPCopyCore

/// The retransmission timeout follows the measured round trip (RFC 6298) but never goes below
/// its floor; on a test's instant round trips it is the floor, set here to 300 ms so that the
/// schedules below read plainly.
private func tuning300() -> SessionTuning {
    var tuning = SessionTuning()
    tuning.minimumRetransmitMilliseconds = 300
    return tuning
}

@Suite struct EmulatedSessionRetransmissionTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    @Test func unacknowledgedDataIsResentAfterTheTimeout() {
        var driver = SessionDriver(tuning: tuning300())
        driver.establish()
        let data = request(100)
        let segment = toTarget(seq: c, ack: t, [.ack, .psh], payload: data)
        #expect(driver.client(seq: c, ack: s, payload: data, at: 20) == [.send(segment)])
        #expect(driver.tick(at: 319).isEmpty)
        #expect(driver.tick(at: 320) == [.send(segment)])
        // Backed off: twice the interval.
        #expect(driver.tick(at: 919).isEmpty)
        #expect(driver.tick(at: 920) == [.send(segment)])
        #expect(driver.session.retransmissions == 2)
        // Acknowledged: the timer stops.
        _ = driver.target(seq: t, ack: c + 100, at: 1000)
        #expect(driver.tick(at: 10_000).isEmpty)
    }

    @Test func resendsOnlyWhatIsStillUnacknowledged() {
        var driver = SessionDriver(tuning: tuning300())
        driver.establish()
        let data = request(100)
        _ = driver.client(seq: c, ack: s, payload: data, at: 20)
        _ = driver.target(seq: t, ack: c + 60, length: 10, at: 100)  // acks 60 bytes, restarts the timer
        #expect(driver.tick(at: 140) == [.send(toTarget(seq: c + 100, ack: t + 10, .ack))])  // our delayed ACK
        #expect(driver.tick(at: 399).isEmpty)
        #expect(
            driver.tick(at: 400) == [
                .send(toTarget(seq: c + 60, ack: t + 10, [.ack, .psh], payload: Array(data[60...])))
            ])
    }

    @Test func givesUpAfterTheMaximumRetransmissions() {
        var tuning = tuning300()
        tuning.maximumRetransmits = 2
        var driver = SessionDriver(tuning: tuning)
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 20)
        #expect(driver.tick(at: 320).sent.count == 1)
        #expect(driver.tick(at: 920).sent.count == 1)
        #expect(driver.tick(at: 2119).isEmpty)
        #expect(
            driver.tick(at: 2120) == [.send(toTarget(seq: c + 10, ack: t, [.rst, .ack])), .finished(Lab.key, .gaveUp)])
    }

    @Test func backOffIsCappedAtTheMaximumInterval() {
        var driver = SessionDriver(tuning: tuning300())
        driver.establish(at: 0)
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 0)
        var times: [Int64] = []
        for ms in stride(from: Int64(0), through: 30_000, by: 10) where !driver.tick(at: ms).sent.isEmpty {
            times.append(ms)
        }
        // 300, then 600, 1200, 2400, 4800, then 5000 each time.
        #expect(times == [300, 900, 2100, 4500, 9300, 14_300, 19_300, 24_300, 29_300])
    }

    @Test func synIsResentAfterOneSecondThenBacksOffThenGivesUp() {
        var driver = SessionDriver()
        var resent: [Int64] = []
        var end: (Int64, [SessionAction])?
        for ms in stride(from: Int64(0), through: 30_000, by: 100) {
            let actions = driver.tick(at: ms)
            if actions.outcome != nil {
                end = (ms, actions)
                break
            }
            if !actions.isEmpty {
                #expect(
                    actions == [
                        .send(
                            toTarget(
                                seq: 1000, ack: 0, .syn, options: TCPOptions(maximumSegmentSize: 1460, windowScale: 7)))
                    ])
                resent.append(ms)
            }
        }
        #expect(resent == [1000, 3000, 7000, 12_000, 17_000])
        #expect(end?.0 == 22_000)
        #expect(end?.1 == [.send(toTarget(seq: 1001, ack: 0, .rst)), .finished(Lab.key, .gaveUp)])
    }

    @Test func synAckStopsTheSYNTimer() {
        var driver = SessionDriver()
        _ = driver.tick(at: 1000)
        _ = driver.synAck(at: 1500)
        #expect(driver.tick(at: 3000).isEmpty)
        #expect(driver.tick(at: 100_000).isEmpty)
    }

    @Test func retransmissionCarriesTheCurrentAck() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 20)
        // The target sends data without acknowledging ours.
        _ = driver.target(seq: t, ack: c, length: 77, at: 30)
        #expect(driver.tick(at: 320).sent.map(\.acknowledgment) == [SequenceNumber(t + 77)])
    }

    @Test func timeoutFollowsTheMeasuredRoundTrip() {
        // A slow path: the SYN-ACK comes 400 ms after the SYN, so the first data timeout is
        // 400 + 4 × 200 = 1200 ms, not the 200 ms floor.
        var driver = SessionDriver()
        driver.establish(at: 400)
        _ = driver.client(seq: c, ack: s, payload: request(10), at: 400)
        #expect(driver.tick(at: 1599).isEmpty)
        #expect(driver.tick(at: 1600).sent.count == 1)
    }
}

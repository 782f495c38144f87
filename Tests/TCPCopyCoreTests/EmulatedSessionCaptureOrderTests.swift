import Testing

@testable import TCPCopyCore

/// The capture is not a reliable stream: segments come twice, late, or overlapping.
@Suite struct EmulatedSessionCaptureOrderTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    @Test func segmentAheadOfAGapWaitsForIt() {
        var driver = SessionDriver()
        driver.establish()
        let first = request(100, tag: 1)
        let second = request(100, tag: 2)
        #expect(driver.client(seq: c + 100, ack: s, payload: second, at: 10).isEmpty)
        #expect(driver.session.bufferedBytes == 100)
        #expect(
            driver.client(seq: c, ack: s, payload: first, at: 11) == [
                .send(toTarget(seq: c, ack: t, [.ack, .psh], payload: first)),
                .send(toTarget(seq: c + 100, ack: t, [.ack, .psh], payload: second)),
            ])
    }

    @Test func clientRetransmissionIsDropped() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        #expect(driver.client(seq: c, ack: s, payload: request(100), at: 11).isEmpty)
        #expect(driver.client(seq: c + 10, ack: s, payload: Array(request(100)[10..<50]), at: 12).isEmpty)
    }

    @Test func overlapIsTrimmed() {
        var driver = SessionDriver()
        driver.establish()
        let data = request(150)
        _ = driver.client(seq: c, ack: s, payload: Array(data[0..<100]), at: 10)
        // A retransmission that also carries 50 new bytes: only the new ones go.
        let sent = driver.client(seq: c + 50, ack: s, payload: Array(data[50..<150]), at: 11)
        #expect(sent == [.send(toTarget(seq: c + 100, ack: t, [.ack, .psh], payload: Array(data[100..<150])))])
    }

    @Test func queueLimitGivesUp() {
        var tuning = SessionTuning()
        tuning.maximumQueuedBytes = 1000
        var driver = SessionDriver(tuning: tuning)
        // Not established: everything queues.
        #expect(driver.client(seq: c, ack: s, payload: request(1000), at: 10).isEmpty)
        #expect(
            driver.client(seq: c + 1000, ack: s, payload: request(1), at: 11) == [
                .send(toTarget(seq: 1001, ack: 0, .rst)), .finished(Lab.key, .gaveUp),
            ])
    }

    @Test func bufferedBytesCountsQueuedAndInFlight() {
        var driver = SessionDriver()
        driver.establish()
        _ = driver.client(seq: c, ack: s, payload: request(100), at: 10)
        _ = driver.client(seq: c + 100, ack: s + 50, payload: request(30), at: 11)  // held by the gate
        _ = driver.client(seq: c + 200, ack: s + 50, payload: request(20), at: 12)  // beyond a gap
        #expect(driver.session.bufferedBytes == 150)
        _ = driver.target(seq: t, ack: c + 100, at: 13)
        #expect(driver.session.bufferedBytes == 50)
    }
}

import Testing

@testable import TCPCopyCore

/// Super-packets from the capture host's GRO are split to the target's MSS.
@Suite struct EmulatedSessionSegmentationTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    @Test func largeSegmentIsSplitToTheTargetsMSS() {
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460))
        driver.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1000))
        let data = request(2500)
        let sent = driver.client(seq: c, ack: s, payload: data, at: 10)
        #expect(
            sent == [
                .send(toTarget(seq: c, ack: t, .ack, payload: Array(data[0..<1000]))),
                .send(toTarget(seq: c + 1000, ack: t, .ack, payload: Array(data[1000..<2000]))),
                .send(toTarget(seq: c + 2000, ack: t, [.ack, .psh], payload: Array(data[2000..<2500]))),
            ])
        // Every piece fits the MTU once encoded.
        #expect(sent.sent.allSatisfy { $0.encodedLength <= 1500 })
    }

    @Test func exactMultipleOfTheMSS() {
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460))
        driver.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1460))
        let sent = driver.client(seq: c, ack: s, payload: request(2920), at: 10).sent
        #expect(sent.map(\.payload.count) == [1460, 1460])
        #expect(sent.map(\.sequence) == [SequenceNumber(c), SequenceNumber(c + 1460)])
        #expect(sent.map(\.flags) == [.ack, [.ack, .psh]])
    }

    @Test func finGoesOnTheLastPiece() {
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460))
        driver.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1000))
        let sent = driver.client(seq: c, ack: s, [.ack, .fin], payload: request(1500), at: 10).sent
        #expect(sent.map(\.flags) == [.ack, [.ack, .psh, .fin]])
        #expect(sent.map(\.payload.count) == [1000, 500])
        #expect(driver.state == .finWait1)
    }

    @Test func mtuLimitsBelowTheMSS() {
        var tuning = SessionTuning()
        tuning.mtu = 576
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460), tuning: tuning)
        driver.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1460))
        let sent = driver.client(seq: c, ack: s, payload: request(1200), at: 10).sent
        #expect(sent.map(\.payload.count) == [536, 536, 128])
        #expect(sent.allSatisfy { $0.encodedLength <= 576 })
    }

    @Test func timestampsTakeTheirRoomUnderTheMTU() {
        let ts = TCPOptions.Timestamp(value: 1, echoReply: 0)
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460, timestamp: ts))
        driver.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1460, timestamp: .init(value: 9, echoReply: 1)))
        let sent = driver.client(seq: c, ack: s, payload: request(3000), at: 10).sent
        #expect(sent.map(\.payload.count) == [1448, 1448, 104])
        #expect(sent.allSatisfy { $0.encodedLength <= 1500 })
    }

    @Test func missingMSSMeans536() {
        var driver = SessionDriver(options: TCPOptions())
        driver.establish(synAckOptions: TCPOptions())
        let sent = driver.client(seq: c, ack: s, payload: request(1000), at: 10).sent
        #expect(sent.map(\.payload.count) == [536, 464])
    }

    @Test func retransmissionIsSplitToo() {
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460))
        driver.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1000))
        _ = driver.client(seq: c, ack: s, payload: request(2500), at: 10)
        let resent = driver.tick(at: 310).sent
        #expect(resent.map(\.sequence) == [c, c + 1000, c + 2000].map(SequenceNumber.init))
    }

    /// RFC 6691: the MSS a peer announces leaves out TCP options, so a sender must carry that
    /// much less data per segment when it adds options. A target announcing MSS 1000 (an MTU of
    /// 1040 on its side) with timestamps on must get at most 988 bytes of data per segment, or
    /// each packet is 12 bytes larger than its link allows.
    @Test func timestampsTakeTheirRoomUnderTheTargetsMSS() {
        let ts = TCPOptions.Timestamp(value: 1, echoReply: 0)
        var driver = SessionDriver(options: TCPOptions(maximumSegmentSize: 1460, timestamp: ts))
        driver.establish(synAckOptions: TCPOptions(maximumSegmentSize: 1000, timestamp: .init(value: 9, echoReply: 1)))
        let sent = driver.client(seq: c, ack: s, payload: request(2000), at: 10).sent
        #expect(sent.map(\.payload.count) == [988, 988, 24])
        #expect(sent.allSatisfy { $0.encodedLength <= 1000 + 40 })
    }
}

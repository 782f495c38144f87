import Testing

@testable import TCPCopyCore

/// Sequence numbers near 2³² on every side, end to end.
@Suite struct EmulatedSessionWrapTests {
    @Test func wholeSessionAcrossTheWrap() {
        let isn: UInt32 = 0xFFFF_FF00
        let c = isn &+ 1  // 0xffffff01
        let s: UInt32 = 0xFFFF_FF81  // the online server's ISN was 0xffffff80
        let t: UInt32 = 0  // the target's ISN is 0xffffffff
        var driver = SessionDriver(isn: isn, options: TCPOptions(maximumSegmentSize: 1460))
        #expect(driver.client(seq: c, ack: s, at: 1).isEmpty)
        let synAck = driver.target(
            seq: 0xFFFF_FFFF, ack: c, [.syn, .ack], options: TCPOptions(maximumSegmentSize: 256), at: 2)
        #expect(synAck == [.send(toTarget(seq: c, ack: t, .ack))])

        // 0x200 bytes from 0xffffff01: the second 256-byte piece starts at 0x00000001.
        let data = request(0x200)
        let sent = driver.client(seq: c, ack: s, payload: data, at: 3)
        #expect(
            sent == [
                .send(toTarget(seq: 0xFFFF_FF01, ack: t, .ack, payload: Array(data[0..<256]))),
                .send(toTarget(seq: 0x0000_0001, ack: t, [.ack, .psh], payload: Array(data[256..<512]))),
            ])

        // The target acknowledges up to 0x101 and answers 0x300 bytes, its stream wrapping too.
        #expect(
            driver.target(seq: t, ack: 0x101, length: 0x300, at: 4) == [.send(toTarget(seq: 0x101, ack: 0x300, .ack))])
        #expect(driver.tick(at: 1000).isEmpty)  // nothing left to retransmit

        // The next request acknowledges 0x300 more of the online stream: 0xffffff81 + 0x300 = 0x281.
        let next = request(16, tag: 9)
        #expect(
            driver.client(seq: 0x101, ack: 0x281, payload: next, at: 5) == [
                .send(toTarget(seq: 0x101, ack: 0x300, [.ack, .psh], payload: next))
            ])
        _ = driver.target(seq: 0x300, ack: 0x111, [.ack, .fin], at: 6)
        #expect(driver.state == .closeWait)
        #expect(
            driver.client(seq: 0x111, ack: 0x282, [.ack, .fin], at: 7) == [
                .send(toTarget(seq: 0x111, ack: 0x301, [.ack, .fin]))
            ])
        #expect(driver.target(seq: 0x301, ack: 0x112, at: 8) == [.finished(Lab.key, .completed)])
    }

    @Test func gateCountsAcrossTheOnlineServersWrap() {
        let c: UInt32 = 1001
        var driver = SessionDriver()
        _ = driver.client(seq: c, ack: 0xFFFF_FFF0, at: 1)
        _ = driver.synAck(at: 2)
        _ = driver.client(seq: c, ack: 0xFFFF_FFF0, payload: request(10), at: 3)
        // 0x20 further on: 0x10.
        #expect(driver.client(seq: c + 10, ack: 0x10, payload: request(10), at: 4).isEmpty)
        #expect(driver.target(seq: 700_001, ack: c + 10, length: 0x1F, at: 5).isEmpty)
        #expect(driver.target(seq: 700_001 + 0x1F, ack: c + 10, length: 1, at: 6).sent.count == 1)
    }

    @Test func outOfOrderCaptureAcrossTheWrap() {
        let isn: UInt32 = 0xFFFF_FFF0
        var driver = SessionDriver(isn: isn)
        _ = driver.client(seq: 0xFFFF_FFF1, ack: 5001, at: 1)
        _ = driver.synAck(at: 2)
        // The second half (from 0x11) arrives first.
        #expect(driver.client(seq: 0x11, ack: 5001, payload: request(16, tag: 2), at: 3).isEmpty)
        let sent = driver.client(seq: 0xFFFF_FFF1, ack: 5001, payload: request(48, tag: 1), at: 4).sent
        // The first packet (to 0x21) covers the held one (0x11 to 0x21): each byte goes once.
        #expect(sent.map(\.sequence.rawValue) == [0xFFFF_FFF1])
        #expect(sent.map(\.payload.count) == [48])
        #expect(driver.session.bufferedBytes == 48)
    }
}

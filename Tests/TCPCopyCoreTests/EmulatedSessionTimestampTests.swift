import Testing

@testable import TCPCopyCore

/// Timestamps: TSecr echoes the target's latest TSval, TSval (the client's) never goes back.
@Suite struct EmulatedSessionTimestampTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    static func ts(_ value: UInt32, _ echo: UInt32) -> TCPOptions {
        TCPOptions(timestamp: .init(value: value, echoReply: echo))
    }

    static let synOptions = TCPOptions(
        maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true, timestamp: .init(value: 100, echoReply: 0))

    func established() -> SessionDriver {
        var driver = SessionDriver(options: Self.synOptions)
        #expect(driver.client(seq: c, ack: s, options: Self.ts(101, 9000), at: 1).isEmpty)
        let answer = driver.synAck(
            options: TCPOptions(
                maximumSegmentSize: 1460, windowScale: 7, timestamp: .init(value: 7000, echoReply: 100)),
            at: 2)
        // Our ACK of the SYN-ACK: the client's latest TSval, echoing the target's.
        #expect(answer == [.send(toTarget(seq: c, ack: t, .ack, options: Self.ts(101, 7000)))])
        return driver
    }

    @Test func echoesTheTargetsLatestTSval() {
        var driver = established()
        let sent = driver.client(seq: c, ack: s, payload: request(10), options: Self.ts(150, 9001), at: 3)
        #expect(
            sent == [.send(toTarget(seq: c, ack: t, [.ack, .psh], payload: request(10), options: Self.ts(150, 7000)))])
        #expect(driver.target(seq: t, ack: c + 10, length: 50, options: Self.ts(7010, 150), at: 4).isEmpty)
        // Our delayed ACK of it.
        #expect(driver.tick(at: 44) == [.send(toTarget(seq: c + 10, ack: t + 50, .ack, options: Self.ts(150, 7010)))])
        // A pure ACK from the target still updates what we echo.
        _ = driver.target(seq: t + 50, ack: c + 10, options: Self.ts(7020, 150), at: 45)
        let next = driver.client(seq: c + 10, ack: s, payload: request(5), options: Self.ts(160, 9002), at: 46)
        #expect(next.sent.map(\.options) == [Self.ts(160, 7020)])
    }

    @Test func tsvalNeverGoesBackwards() {
        var driver = established()
        _ = driver.client(seq: c, ack: s, payload: request(10), options: Self.ts(150, 9001), at: 3)
        // A reordered capture: an older TSval on newer data.
        let sent = driver.client(seq: c + 10, ack: s, payload: request(10), options: Self.ts(120, 9001), at: 4)
        #expect(sent.sent.map(\.options.timestamp?.value) == [150])
        // A packet with no timestamp at all keeps the last one.
        let bare = driver.client(seq: c + 20, ack: s, payload: request(10), at: 5)
        #expect(bare.sent.map(\.options.timestamp?.value) == [150])
    }

    @Test func tsvalWrapsForward() {
        var driver = SessionDriver(options: TCPOptions(timestamp: .init(value: 0xFFFF_FFF0, echoReply: 0)))
        _ = driver.client(seq: c, ack: s, options: Self.ts(0xFFFF_FFF8, 0), at: 1)
        _ = driver.synAck(options: Self.ts(5, 0xFFFF_FFF0), at: 2)
        // 0x10 is after 0xfffffff8 in wrapping order.
        let sent = driver.client(seq: c, ack: s, payload: request(1), options: Self.ts(0x10, 5), at: 3)
        #expect(sent.sent.map(\.options) == [Self.ts(0x10, 5)])
        let older = driver.client(seq: c + 1, ack: s, payload: request(1), options: Self.ts(0xFFFF_FFFA, 5), at: 4)
        #expect(older.sent.map(\.options) == [Self.ts(0x10, 5)])
    }

    @Test func noTimestampsUnlessBothSidesUseThem() {
        // The client used them, the target did not answer with any.
        var driver = SessionDriver(options: Self.synOptions)
        _ = driver.client(seq: c, ack: s, options: Self.ts(101, 9000), at: 1)
        let answer = driver.synAck(options: TCPOptions(maximumSegmentSize: 1460), at: 2)
        #expect(answer.sent.map(\.options) == [TCPOptions()])
        let sent = driver.client(seq: c, ack: s, payload: request(1), options: Self.ts(150, 9001), at: 3)
        #expect(sent.sent.map(\.options) == [TCPOptions()])
    }

    @Test func retransmittedSYNCarriesTheOriginalOptions() {
        var driver = SessionDriver(options: Self.synOptions)
        let resent = driver.tick(at: 1000)
        #expect(
            resent == [
                .send(
                    toTarget(
                        seq: 1000, ack: 0, .syn,
                        options: TCPOptions(
                            maximumSegmentSize: 1460, windowScale: 7, timestamp: .init(value: 100, echoReply: 0))))
            ])
    }
}

import Testing

@testable import TCPCopyCore

@Suite struct ClockOffsetTests {
    @Test func noEstimateBeforeARoundTrip() {
        let clock = ClockOffsetEstimator()
        #expect(clock.estimate == nil)
        #expect(clock.requestTime(forAnswerStamp: 1000) == nil)
    }

    /// intercept's clock is 1,000,000 µs ahead; the path takes 100 µs each way, plus queuing
    /// on some round trips: the fastest round trip gives the offset exactly.
    @Test func fastestOfTheWindowGivesTheOffset() {
        var clock = ClockOffsetEstimator()
        let ahead: Int64 = 1_000_000
        for (index, queued) in [900, 40, 0, 2_000, 300].enumerated() {
            let sent = Int64(index) * 500_000
            let stamp = sent + 100 + Int64(queued) + ahead
            clock.record(sent: sent, stamp: stamp, received: sent + 200 + Int64(queued))
        }
        #expect(clock.estimate == .init(offsetMicroseconds: ahead, roundTripMicroseconds: 200))
        // An answer leaving at intercept's 5,000,000: tcpcopy's 4,000,000, less 100 µs one way.
        #expect(clock.requestTime(forAnswerStamp: 5_000_000) == 3_999_900)
    }

    @Test func onlyTheLastWindowCounts() {
        var clock = ClockOffsetEstimator(window: 4)
        clock.record(sent: 0, stamp: 50, received: 100)  // fastest, but pushed out below
        for index in 1...4 {
            let sent = Int64(index) * 1000
            clock.record(sent: sent, stamp: sent + 7_000 + Int64(index) * 10, received: sent + 300 + Int64(index) * 20)
        }
        // The fastest left is the first of the four: sent 1,000, stamped 8,010, back at 1,320.
        #expect(clock.estimate == .init(offsetMicroseconds: 6_850, roundTripMicroseconds: 320))
    }

    @Test func echoesBeforeTheirProbeAreIgnored() {
        var clock = ClockOffsetEstimator()
        clock.record(sent: 1000, stamp: 5, received: 999)
        #expect(clock.estimate == nil)
    }
}

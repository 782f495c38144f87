import Testing

@testable import TCPCopyCore

@Suite struct LossNoticeTests {
    private func at(_ milliseconds: Int64) -> MonotonicTime { MonotonicTime(milliseconds: milliseconds) }

    @Test func warnsOnTheFirstLossThenAtMostOncePerInterval() {
        var notice = LossNotice(intervalMilliseconds: 10_000)
        #expect(notice.check(total: 0, now: at(0)) == nil)
        #expect(notice.check(total: 5, now: at(100)) == 5)
        // Within the interval: kept, not lost.
        #expect(notice.check(total: 9, now: at(5_000)) == nil)
        #expect(notice.check(total: 12, now: at(10_099)) == nil)
        #expect(notice.check(total: 12, now: at(10_100)) == 7)
        // Nothing new: no warning however long it has been.
        #expect(notice.check(total: 12, now: at(60_000)) == nil)
        #expect(notice.check(total: 13, now: at(60_001)) == 1)
    }

    @Test func whatWasLostBeforeWatchingIsNotReported() {
        var notice = LossNotice(baseline: 1_000)
        #expect(notice.check(total: 1_000, now: at(0)) == nil)
        #expect(notice.check(total: 1_004, now: at(1)) == 4)
    }

    @Test func aCounterThatRestartsBecomesTheBaseline() {
        var notice = LossNotice(baseline: 500)
        // The queue was bound anew: the kernel counts from 0 again.
        #expect(notice.check(total: 0, now: at(0)) == nil)
        #expect(notice.check(total: 3, now: at(1)) == 3)
    }
}

import Testing

@testable import TCPCopyCore

@Suite struct WakeupWindowTests {
    @Test func aLoopNeverWokenDoesNotPause() {
        let window = WakeupWindow(microseconds: 500)
        #expect(window.pause(atMicroseconds: 1_000_000) == 0)
    }

    @Test func aBusyLoopSleepsOutTheRestOfTheWindow() {
        var window = WakeupWindow(microseconds: 500)
        window.woke(atMicroseconds: 10_000)
        // Handling the wake-up took 120 µs: 380 µs of the window are left.
        #expect(window.pause(atMicroseconds: 10_120) == 380)
        #expect(window.pause(atMicroseconds: 10_499) == 1)
    }

    @Test func aWakeUpAWindowAgoOrMoreDoesNotDelayTheNext() {
        var window = WakeupWindow(microseconds: 500)
        window.woke(atMicroseconds: 10_000)
        #expect(window.pause(atMicroseconds: 10_500) == 0)
        #expect(window.pause(atMicroseconds: 90_000) == 0)
    }

    @Test func zeroTurnsBatchingOff() {
        var window = WakeupWindow(microseconds: 0)
        window.woke(atMicroseconds: 10_000)
        #expect(window.pause(atMicroseconds: 10_001) == 0)
        #expect(WakeupWindow(microseconds: -5).microseconds == 0)
    }

    @Test func aClockThatSeemsToGoBackDoesNotStallTheLoop() {
        var window = WakeupWindow(microseconds: 500)
        window.woke(atMicroseconds: 10_000)
        #expect(window.pause(atMicroseconds: 9_000) == 0)
    }
}

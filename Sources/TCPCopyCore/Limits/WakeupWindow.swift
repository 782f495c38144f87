/// Wake-up batching for the daemons' event loops.
///
/// Under load, a loop that wakes for every packet spends most of its CPU going to sleep and
/// waking up again: in a VM a context switch costs more than handling a packet, and the
/// batched system calls (recvmmsg, sendmmsg, one verdict message, one control write) only pay
/// off when a wake-up finds many packets waiting. `WakeupWindow` makes a busy loop wake at most
/// once per window: when the previous wake-up was less than a window ago, the loop first sleeps
/// out the rest of the window, and then handles everything that arrived meanwhile in one batch.
/// A loop woken less often than once per window never sleeps extra, so light traffic is not
/// delayed at all; under load a packet waits at most one window.
///
/// Times are microseconds on a monotonic clock that the I/O layer reads.
public struct WakeupWindow: Sendable, Equatable {
    /// 0 turns batching off: the loop waits for the next event at once, every time.
    public let microseconds: Int64
    private var lastWake: Int64?

    public init(microseconds: Int64) {
        self.microseconds = max(0, microseconds)
    }

    /// The loop woke up with events to handle. Timeouts without events are not wake-ups that
    /// packets caused, and are not recorded.
    public mutating func woke(atMicroseconds now: Int64) {
        lastWake = now
    }

    /// How long to sleep before waiting for events again: the rest of the window that began
    /// with the last wake-up, or 0 once it is over.
    public func pause(atMicroseconds now: Int64) -> Int64 {
        guard microseconds > 0, let lastWake else { return 0 }
        let elapsed = now - lastWake
        return elapsed >= 0 && elapsed < microseconds ? microseconds - elapsed : 0
    }
}

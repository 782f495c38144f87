/// intercept's clock offset from tcpcopy's, from `clockProbe`/`clockEcho` round trips (NTP's
/// method, docs/compare.md): tcpcopy sends at `t0`, intercept stamps its echo `t1`, tcpcopy
/// receives it at `t2`; the offset is `t1 − (t0 + t2) / 2` and the round trip `t2 − t0`.
/// The estimate is the sample of the fastest of the last `window` round trips: queuing only
/// ever adds delay, so the fastest is the least disturbed.
public struct ClockOffsetEstimator: Sendable {
    public struct Sample: Hashable, Sendable {
        /// intercept's clock minus tcpcopy's, µs.
        public var offsetMicroseconds: Int64
        public var roundTripMicroseconds: Int64
    }

    public let window: Int
    private var samples: [Sample] = []
    private var next = 0

    public init(window: Int = 16) {
        precondition(window > 0)
        self.window = window
    }

    /// One round trip; ignored when the echo came back before it was sent (a probe of another
    /// clock, e.g. a tcpcopy restarted with the same connection's stale echo).
    public mutating func record(sent: Int64, stamp: Int64, received: Int64) {
        guard received >= sent else { return }
        let sample = Sample(
            offsetMicroseconds: stamp - sent - (received - sent) / 2, roundTripMicroseconds: received - sent)
        if samples.count < window {
            samples.append(sample)
        } else {
            samples[next] = sample
            next = (next + 1) % window
        }
    }

    /// The fastest round trip's sample of the last `window`; nil before any.
    public var estimate: Sample? { samples.min { $0.roundTripMicroseconds < $1.roundTripMicroseconds } }

    /// A time on intercept's clock as tcpcopy's clock read then, less the one-way delay from
    /// tcpcopy to intercept's host (half the round trip): for an answer leaving the target at
    /// `stamp`, the time its request would have been sent to arrive then with no wait. Nil
    /// before any round trip.
    public func requestTime(forAnswerStamp stamp: Int64) -> Int64? {
        estimate.map { stamp - $0.offsetMicroseconds - $0.roundTripMicroseconds / 2 }
    }
}

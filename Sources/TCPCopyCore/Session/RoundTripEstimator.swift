/// The round-trip time to the target as RFC 6298 estimates it, from acknowledged segments that
/// were sent once (Karn's rule). It sets the retransmission timeout, and how long the target
/// must be quiet before its answer counts as complete.
struct RoundTripEstimator: Sendable {
    private(set) var smoothed: Double?
    private var variation: Double = 0

    mutating func add(sampleMilliseconds sample: Int64) {
        let r = Double(max(0, sample))
        if let srtt = smoothed {
            variation = 0.75 * variation + 0.25 * abs(srtt - r)
            smoothed = 0.875 * srtt + 0.125 * r
        } else {
            smoothed = r
            variation = r / 2
        }
    }

    /// SRTT + max(clock granularity, 4·RTTVAR), within the bounds; `initial` before any sample.
    func retransmitTimeout(initial: Int64, minimum: Int64, maximum: Int64) -> Int64 {
        guard let srtt = smoothed else { return initial }
        let rto = Int64((srtt + max(10, 4 * variation)).rounded(.up))
        return min(max(rto, minimum), maximum)
    }

    /// Two round trips (a target's answer comes in bursts a round trip apart, paced by our
    /// ACKs) plus a little, capped by `maximum`.
    func quietTime(maximum: Int64) -> Int64 {
        guard let srtt = smoothed else { return maximum }
        return min(maximum, Int64((2 * srtt + 2 * variation).rounded(.up)) + 5)
    }
}

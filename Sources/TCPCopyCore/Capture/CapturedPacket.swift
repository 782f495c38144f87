/// One packet a packet source hands the engine: the IP packet (IP header first, the link header
/// already removed) and when it was captured.
public struct CapturedPacket {
    /// Valid only during the call that receives it.
    public var bytes: UnsafeRawBufferPointer
    /// When the packet was captured: the capture file's clock for a replayed file, the
    /// monotonic clock of the read for a live source.
    public var timestamp: CaptureTimestamp

    public init(bytes: UnsafeRawBufferPointer, timestamp: CaptureTimestamp) {
        self.bytes = bytes
        self.timestamp = timestamp
    }
}

/// A capture time in nanoseconds on the source's own clock (only differences are meaningful).
public struct CaptureTimestamp: Comparable, Hashable, Sendable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public init(_ time: MonotonicTime) { nanoseconds = time.milliseconds * 1_000_000 }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}

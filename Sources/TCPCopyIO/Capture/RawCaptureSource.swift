import TCPCopyCore

/// The raw IP socket as a packet source: the kernel hands it IP packets, inbound only, so there
/// is no link header to remove and no direction to check. Its timestamp is the read's time.
extension RawCaptureSocket: PacketSource {
    var descriptors: [Int32] { [descriptor.rawValue] }

    func read(limit: Int, now: MonotonicTime, _ body: (CapturedPacket) -> Void) throws -> Bool {
        let timestamp = CaptureTimestamp(now)
        return try receive(limit: limit) { bytes in body(CapturedPacket(bytes: bytes, timestamp: timestamp)) }
    }

    var kernelDropped: Int { Int(droppedByKernel) }

    func addCounters(to counters: inout CaptureCounters) {
        counters.dropped = kernelDropped
        counters.truncated = truncated
    }
}

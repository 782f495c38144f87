/// A piece of the client's byte stream on its way to the target.
struct PendingSegment: Hashable, Sendable {
    var sequence: SequenceNumber
    var payload: ArraySlice<UInt8>
    var isFin: Bool
    /// The client's acknowledgment when it sent this: its position in the online server's
    /// stream, which tells how much the online server had answered before this request.
    var clientAck: SequenceNumber

    var end: SequenceNumber { sequence + payload.count + (isFin ? 1 : 0) }

    /// Drops the part before `position` (already received or acknowledged).
    mutating func trimFront(to position: SequenceNumber) {
        let overlap = position - sequence
        guard overlap > 0 else { return }
        let dataOverlap = min(overlap, payload.count)
        payload = payload.dropFirst(dataOverlap)
        sequence = sequence + dataOverlap
    }
}

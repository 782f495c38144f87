/// Writes the segments we send to the target as the client would: from its addresses and
/// ports, with its ISN and SYN options and its latest timestamp, acknowledging all the target
/// sent (`TargetStream.next`).
struct SegmentWriter: Sendable {
    let key: RouteKey
    /// The client's initial sequence number: our SYN's.
    let isn: SequenceNumber
    let synOptions: TCPOptions
    /// Largest TSval the client used: ours must never go backwards (the target's PAWS check).
    private(set) var clientTimestamp: UInt32?

    /// Our receive window: we acknowledge the target's data within the delayed-ACK time and
    /// keep none of it, so we never need it to slow down.
    private static let advertisedWindow: UInt16 = 65535

    init(key: RouteKey, syn: TCPPacket) {
        self.key = key
        isn = syn.sequence
        // SACK is left out: we never send SACK blocks, and the client's would describe the
        // online server's stream, not the target's.
        synOptions = TCPOptions(
            maximumSegmentSize: syn.options.maximumSegmentSize,
            windowScale: syn.options.windowScale, timestamp: syn.options.timestamp)
        clientTimestamp = syn.options.timestamp?.value
    }

    /// A packet the client sent: its TSval, if newer than any before, is the one ours carry.
    mutating func noteTimestamp(of packet: TCPPacket) {
        guard let ts = packet.options.timestamp?.value else { return }
        if let known = clientTimestamp {
            clientTimestamp = Int32(bitPattern: ts &- known) > 0 ? ts : known
        } else {
            clientTimestamp = ts
        }
    }

    func segment(
        _ sequence: SequenceNumber, _ flags: TCPFlags, _ payload: ArraySlice<UInt8> = [], target: TargetStream
    ) -> OutgoingSegment {
        var timestamp: TCPOptions.Timestamp?
        if target.timestampsEnabled {
            timestamp = TCPOptions.Timestamp(value: clientTimestamp ?? 1, echoReply: target.timestamp)
        }
        return OutgoingSegment(
            source: key.clientAddress, destination: key.targetAddress, sourcePort: key.clientPort,
            destinationPort: key.targetPort, sequence: sequence, acknowledgment: target.next,
            flags: flags, window: Self.advertisedWindow, options: TCPOptions(timestamp: timestamp),
            payload: payload)
    }

    func syn(target: TargetStream) -> OutgoingSegment {
        var syn = segment(isn, .syn, target: target)
        syn.options = synOptions
        return syn
    }

    /// Appends the sends of `segment`, split to what the target takes (a capture host's GRO hands
    /// us packets far above the MTU). Each carries the ACK flag.
    func split(_ segment: PendingSegment, target: TargetStream, into actions: inout [SessionAction]) {
        let limit = target.maximumPayload
        var offset = segment.payload.startIndex
        repeat {
            let end = min(offset + limit, segment.payload.endIndex)
            let isLast = end == segment.payload.endIndex
            var flags: TCPFlags = .ack
            if isLast && !segment.payload.isEmpty { flags.insert(.psh) }
            if isLast && segment.isFin { flags.insert(.fin) }
            let sequence = segment.sequence + (offset - segment.payload.startIndex)
            actions.append(.send(self.segment(sequence, flags, segment.payload[offset..<end], target: target)))
            offset = end
        } while offset < segment.payload.endIndex
    }
}

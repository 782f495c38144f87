/// The starts of a session that did not see the client's handshake.
extension EmulatedSession {
    /// Starts a session for a connection whose beginning tcpcopy did not see: a SYN is made up
    /// just before `first` (MSS `synMSS`, timestamps if the client uses them) and the capture goes
    /// on from `first`, which counts as the first request.
    public init(
        key: RouteKey, synthesizingFrom first: TCPPacket, synMSS: Int, tuning: SessionTuning.Shared,
        now: MonotonicTime, actions: inout [SessionAction]
    ) {
        let syn = Self.madeUpSYN(
            for: key, before: first.sequence, synMSS: synMSS, timestamp: first.options.timestamp?.value)
        self.init(key: key, syn: syn, tuning: tuning, now: now, actions: &actions)
        takeOver(clientAck: first.acknowledgment, stream: [], now: now)
    }

    /// Starts a session that carries on `stream` after the target closed the previous one
    /// (see `SessionAction.reopen`).
    public init(
        key: RouteKey, continuing stream: ClientStream, timestamp: UInt32?, synMSS: Int,
        tuning: SessionTuning.Shared, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        let syn = Self.madeUpSYN(for: key, before: stream.sequence, synMSS: synMSS, timestamp: timestamp)
        self.init(key: key, syn: syn, tuning: tuning, now: now, actions: &actions)
        takeOver(clientAck: stream.segments.first?.clientAck, stream: stream.segments, now: now)
    }

    /// The SYN the client would have sent for a stream whose first byte is `first`: MSS
    /// `synMSS`, timestamps if the client uses them, nothing else (the session only reads the
    /// sequence number and the options).
    private static func madeUpSYN(
        for key: RouteKey, before first: SequenceNumber, synMSS: Int, timestamp: UInt32?
    ) -> TCPPacket {
        TCPPacket(
            source: key.clientAddress, destination: key.targetAddress, sourcePort: key.clientPort,
            destinationPort: key.targetPort, sequence: first + (-1), acknowledgment: SequenceNumber(0),
            flags: .syn, window: 65535,
            options: TCPOptions(
                maximumSegmentSize: UInt16(clamping: synMSS),
                timestamp: timestamp.map { .init(value: $0, echoReply: 0) }),
            headerLength: 40, payloadLength: 0)
    }
}

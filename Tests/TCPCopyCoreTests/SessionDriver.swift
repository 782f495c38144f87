import Testing

@testable import TCPCopyCore

/// Drives one `EmulatedSession` through a scenario: builds the captured client packets and the
/// target's response headers as bytes, feeds them in at given times, and returns the actions of
/// each event.
///
/// Default numbers: the client's ISN 1000 (its data starts at 1001), the online server's ISN 5000
/// (the client acknowledges 5001 after the handshake), the target's ISN 700000 (its data starts
/// at 700001).
struct SessionDriver {
    static let clientISN: UInt32 = 1000
    static let serverISN: UInt32 = 5000
    static let targetISN: UInt32 = 700_000
    /// A Linux SYN without timestamps.
    static let synOptions = TCPOptions(maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true)

    var session: EmulatedSession
    let clientISN: UInt32
    let client = CapturedClient()
    let target = RespondingTarget()
    /// What the client's SYN produced.
    let started: [SessionAction]

    init(
        isn: UInt32 = clientISN, options: TCPOptions = synOptions, tuning: SessionTuning = SessionTuning(),
        at ms: Int64 = 0
    ) {
        clientISN = isn
        let syn = client.packet(seq: isn, .syn, options: options)
        var actions: [SessionAction] = []
        session = EmulatedSession(
            key: Lab.key, syn: syn.packet, tuning: tuning, now: MonotonicTime(milliseconds: ms),
            actions: &actions)
        started = actions
    }

    var state: EmulatedSession.State { session.state }

    /// A packet the client sent to the online server.
    mutating func client(
        seq: UInt32, ack: UInt32, _ flags: TCPFlags = .ack, payload: [UInt8] = [],
        options: TCPOptions = TCPOptions(), at ms: Int64
    ) -> [SessionAction] {
        let captured = client.packet(seq: seq, ack: ack, flags, options: options, payload: payload)
        var actions: [SessionAction] = []
        session.clientSent(
            captured.packet, payload: captured.payload, now: MonotonicTime(milliseconds: ms), actions: &actions)
        return actions
    }

    /// The headers of a packet the target sent, `length` bytes of payload.
    mutating func target(
        seq: UInt32, ack: UInt32, _ flags: TCPFlags = .ack, length: Int = 0,
        options: TCPOptions = TCPOptions(), window: UInt16 = 65535, at ms: Int64
    ) -> [SessionAction] {
        let header = target.header(seq: seq, ack: ack, flags, length: length, options: options, window: window)
        var actions: [SessionAction] = []
        session.targetSent(header.packet, now: MonotonicTime(milliseconds: ms), actions: &actions)
        return actions
    }

    mutating func tick(at ms: Int64) -> [SessionAction] {
        var actions: [SessionAction] = []
        session.tick(now: MonotonicTime(milliseconds: ms), actions: &actions)
        return actions
    }

    /// The target's SYN-ACK (ISN 700000), answering our SYN.
    mutating func synAck(
        options: TCPOptions = TCPOptions(maximumSegmentSize: 1460), window: UInt16 = 65535, at ms: Int64 = 1
    ) -> [SessionAction] {
        target(seq: Self.targetISN, ack: clientISN &+ 1, [.syn, .ack], options: options, window: window, at: ms)
    }

    /// Handshake done: the client's ACK captured and the target's SYN-ACK answered.
    mutating func establish(synAckOptions: TCPOptions = TCPOptions(maximumSegmentSize: 1460), at ms: Int64 = 1) {
        let ack = client(seq: clientISN &+ 1, ack: Self.serverISN + 1, at: ms)
        #expect(ack.isEmpty)
        let answer = synAck(options: synAckOptions, at: ms)
        #expect(answer.count == 1)
        #expect(state == .established)
    }
}

/// A segment as the session should send it to the target.
func toTarget(
    seq: UInt32, ack: UInt32, _ flags: TCPFlags, payload: [UInt8] = [], options: TCPOptions = TCPOptions(),
    port: UInt16 = Lab.clientPort
) -> OutgoingSegment {
    OutgoingSegment(
        source: .v4(Lab.client), destination: .v4(Lab.target), sourcePort: port, destinationPort: Lab.targetPort,
        sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack), flags: flags, window: 65535,
        options: options, payload: payload[...])
}

/// `count` recognisable bytes: a request of that size.
func request(_ count: Int, tag: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &+ Int(tag) &* 31) }
}

/// intercept's side of `tcpcopy --compare`: for the routes a tcpcopy asked to compare
/// (`compare` message), turns each answer packet the target sends into an `AnswerPiece`
/// (offsets from the SYN-ACK, CRC-32C of the new bytes, the answer's first bytes), so that only
/// that crosses the control link. Routes not compared cost one dictionary test, and nothing
/// when no route is compared.
///
/// Only bytes past those already reported for the route are reported (its high-water mark):
/// a retransmission is not reported again, so that tcpcopy's `SegmentCRCCombiner` never sees two
/// pieces overlapping in part.
///
/// An `HTTPMessageFramer` reads each route's answer stream: where an HTTP/1.x answer begins, the
/// packet's bytes are cut into two pieces and the second says it starts an answer, so that
/// tcpcopy pairs pipelined answers one by one. On other protocols it stops at the first byte
/// (and tries again where the target's ACK moves: the next batch of requests).
public struct AnswerReporter<Connection: Hashable & Sendable>: Sendable {
    struct Stream {
        var owner: Connection
        /// The target's ISN and the copied client's first sequence number (the SYN-ACK's ACK).
        var targetISN: UInt32?
        var clientStart: UInt32?
        /// One past the last reported answer byte, from the target's first data byte.
        var reported: UInt32 = 0
        /// The acknowledgment offset of the answer being reported, and where it started.
        var answerAcknowledgment: UInt32?
        var answerStart: UInt32 = 0
        var ended = false
        /// The owner's masked header lines, reset at each answer's start.
        var filter: HeaderMaskFilter
        var framer = HTTPMessageFramer(kind: .answer)
    }

    /// The compared routes' streams, looked up for every answer packet: a `FlatTable` (no
    /// SipHash), each changed as a local taken out of its bucket (its arrays not copied).
    private var streams = FlatTable<RouteKey, Stream?>(placeholder: nil)
    /// SYN-ACKs of routes not compared (yet): the target's ISN and the copied client's first
    /// sequence number. A `compare` follows its route's `register`, and the SYN-ACK often comes
    /// between the two or before both (held, then delivered by the register), or comes while
    /// the route's earlier session is still compared (its ports reused); without its numbers
    /// none of the route's answers could be placed. Bounded: emptied when full.
    private var handshakes: [RouteKey: (targetISN: UInt32, clientStart: UInt32)] = [:]
    public static var handshakeLimit: Int { 4096 }

    /// Each tcpcopy's `compare_config`.
    private var masks: [Connection: HeaderMaskFilter] = [:]
    private var scratch: [UInt8] = []
    /// Pieces reported, and the packets of compared routes that held nothing new.
    public private(set) var piecesReported = 0
    public private(set) var repeatsSkipped = 0

    /// intercept's `--compare`: without it the queue copies headers only, there is nothing to
    /// digest, and `compare` requests are ignored.
    public var enabled = false

    public init(enabled: Bool = false) { self.enabled = enabled }

    /// Whether any route is compared: when not, the caller need not look at packets.
    public var isActive: Bool { !streams.isEmpty }
    public var streamCount: Int { streams.count }

    public mutating func start(_ key: RouteKey, owner: Connection) {
        guard enabled else { return }
        var stream = Stream(owner: owner, filter: masks[owner] ?? HeaderMaskFilter())
        if let handshake = handshakes.removeValue(forKey: key) {
            stream.targetISN = handshake.targetISN
            stream.clientStart = handshake.clientStart
        }
        streams.updateValue(stream, forKey: key)
    }

    /// A tcpcopy's masked header names (`compare_config`), for the routes it asks for next.
    public mutating func configure(_ owner: Connection, maskedHeaders: [String]) {
        guard enabled else { return }
        masks[owner] = HeaderMaskFilter(maskedHeaders: maskedHeaders)
    }

    /// A response held before its route was registered, delivered by the `register`: a
    /// SYN-ACK's numbers are kept for the `compare` that follows.
    public mutating func handshake(_ packet: TCPPacket) {
        guard enabled, packet.flags.contains([.syn, .ack]) else { return }
        remember(RouteKey(response: packet), packet)
    }

    private mutating func remember(_ key: RouteKey, _ synAck: TCPPacket) {
        if handshakes.count >= Self.handshakeLimit { handshakes.removeAll(keepingCapacity: true) }
        handshakes[key] = (synAck.sequence.rawValue, synAck.acknowledgment.rawValue)
    }

    public mutating func stop(_ key: RouteKey) {
        streams.removeValue(forKey: key)
        handshakes[key] = nil
    }

    public mutating func closed(_ owner: Connection) {
        streams.removeAll { $1?.owner == owner }
        masks[owner] = nil
    }

    /// Appends to `pieces` what to send for a packet the target sent (IP packet, payload
    /// included): one piece, or several when answers begin inside it; returns to whom, or nil
    /// when its route is not compared or it holds nothing new.
    public mutating func observe(
        _ bytes: UnsafeRawBufferPointer, stampMicroseconds: UInt64, into pieces: inout [AnswerPiece]
    ) -> Connection? {
        guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false, readOptions: false) else {
            return nil
        }
        return observe(packet, bytes, stampMicroseconds: stampMicroseconds, into: &pieces)
    }

    /// `observe` of a packet already parsed (`packet`, from `bytes`).
    public mutating func observe(
        _ packet: TCPPacket, _ bytes: UnsafeRawBufferPointer, stampMicroseconds: UInt64,
        into pieces: inout [AnswerPiece]
    ) -> Connection? {
        let key = RouteKey(response: packet)
        guard let slot = streams.index(forKey: key) else {
            if enabled, packet.flags.contains([.syn, .ack]) { remember(key, packet) }
            return nil
        }
        // Nothing below adds or removes a stream: the slot stays valid.
        var stream = streams.modifyValue(at: slot) { value in
            defer { value = nil }
            return value!
        }
        defer { streams.modifyValue(at: slot) { $0 = stream } }
        if packet.flags.contains(.syn) {
            // Another ISN on a compared route: the client reused its ports, and the `compare` of
            // the new session (which replaces this stream) is on its way.
            if let known = stream.targetISN, known != packet.sequence.rawValue { remember(key, packet) }
            stream.targetISN = packet.sequence.rawValue
            stream.clientStart = packet.acknowledgment.rawValue
            return nil
        }
        guard let targetISN = stream.targetISN, let clientStart = stream.clientStart else { return nil }
        let offset = packet.sequence.rawValue &- targetISN &- 1
        let acknowledged = packet.acknowledgment.rawValue &- clientStart
        let available = min(packet.payloadLength, bytes.count - packet.headerLength)
        let ending = packet.flags.intersection([.fin, .rst])
        if available <= 0 || packet.payloadLength == 0 {
            guard !ending.isEmpty, !stream.ended else { return nil }
            stream.ended = true
            pieces.append(
                AnswerPiece(
                    key: key, sequenceOffset: offset, acknowledgmentOffset: acknowledged, length: 0, crc: 0,
                    flags: ending, stampMicroseconds: stampMicroseconds, head: []))
            return stream.owner
        }
        let end = offset &+ UInt32(available)
        // At or below the high-water mark: a repeat (signed, for the wrap).
        guard Int32(bitPattern: end &- stream.reported) > 0 else {
            repeatsSkipped += 1
            return nil
        }
        let skip = Int32(bitPattern: stream.reported &- offset) > 0 ? Int(stream.reported &- offset) : 0
        var start = offset &+ UInt32(skip)
        if stream.answerAcknowledgment != acknowledged {
            stream.answerAcknowledgment = acknowledged
            stream.answerStart = start
            stream.filter.reset()
            if !stream.framer.isFraming { stream.framer = HTTPMessageFramer(kind: .answer) }
        }
        if start != stream.reported, stream.framer.isFraming {
            // A hole (bytes the queue did not copy): the framer cannot follow.
            stream.framer.abandon()
        }
        var rest = bytes[(packet.headerLength + skip)..<(packet.headerLength + available)]
        stream.reported = end
        while !rest.isEmpty {
            var take = rest.count
            var starts = false
            if stream.framer.isFraming {
                starts = stream.framer.atMessageStart
                take = stream.framer.read(rest)
                if take == 0 { continue }
                if starts {
                    stream.answerStart = start
                    stream.filter.reset()
                }
            }
            let payload = UnsafeRawBufferPointer(rebasing: rest.prefix(take))
            pieces.append(piece(of: &stream, key: key, payload, at: start, acknowledged: acknowledged, starts: starts))
            pieces[pieces.count - 1].stampMicroseconds = stampMicroseconds
            start = start &+ UInt32(take)
            rest = rest.dropFirst(take)
        }
        // The FIN or RST goes with the packet's last piece.
        pieces[pieces.count - 1].flags = ending
        return stream.owner
    }

    private mutating func piece(
        of stream: inout Stream, key: RouteKey, _ payload: UnsafeRawBufferPointer, at start: UInt32,
        acknowledged: UInt32, starts: Bool
    ) -> AnswerPiece {
        let intoAnswer = Int(start &- stream.answerStart)
        let head = intoAnswer < AnswerPiece.headLimit ? Array(payload.prefix(AnswerPiece.headLimit - intoAnswer)) : []
        piecesReported += 1
        let crc: UInt32
        let digested: Int
        if stream.filter.isMasking {
            scratch.removeAll(keepingCapacity: true)
            stream.filter.filter(payload, into: &scratch)
            crc = CRC32C.update(0, with: scratch)
            digested = scratch.count
        } else {
            crc = CRC32C.update(0, with: payload)
            digested = payload.count
        }
        return AnswerPiece(
            key: key, sequenceOffset: start, acknowledgmentOffset: acknowledged, length: UInt16(payload.count),
            digestedLength: UInt16(digested), crc: crc, flags: [], stampMicroseconds: 0, head: head,
            startsAnswer: starts)
    }
}

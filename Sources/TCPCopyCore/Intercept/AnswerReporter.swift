/// intercept's side of `tcpcopy --compare`: for the routes a tcpcopy asked to compare
/// (`compare` message), turns each answer packet the target sends into `ReportedPiece`s
/// (offsets from the SYN-ACK, CRC-32C of the new bytes, where the answer's first bytes are in
/// the packet), so that only that crosses the control link. Routes not compared cost one table
/// look-up, and nothing when no route is compared.
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
    /// A compared route. Plain numbers only, no array or reference: a `compare` a session
    /// stores one, and the table moves and copies it as bytes (the masked header lines' filter,
    /// which holds arrays, lives in `filters`, only for the owners that mask any).
    struct Stream {
        var owner: Connection
        /// The target's ISN and the copied client's first sequence number (the SYN-ACK's ACK),
        /// when `knowsHandshake`.
        var targetISN: UInt32 = 0
        var clientStart: UInt32 = 0
        /// One past the last reported answer byte, from the target's first data byte.
        var reported: UInt32 = 0
        /// The acknowledgment offset of the answer being reported (when `hasAnswer`), and where
        /// it started.
        var answerAcknowledgment: UInt32 = 0
        var answerStart: UInt32 = 0
        var knowsHandshake = false
        var hasAnswer = false
        var ended = false
        /// Whether its owner masks header lines: its filter is in `filters`.
        var masks = false
        var framer = HTTPMessageFramer(kind: .answer)

        init(owner: Connection) { self.owner = owner }
    }

    /// The compared routes' streams, looked up for every answer packet: a `FlatTable` (no
    /// SipHash), each changed as a local taken out of its bucket.
    private var streams = FlatTable<RouteKey, Stream?>(placeholder: nil)
    /// SYN-ACKs of routes not compared (yet): the target's ISN (high half) and the copied
    /// client's first sequence number. A `compare` follows its route's `register`, and the
    /// SYN-ACK often comes between the two or before both (held, then delivered by the
    /// register), or comes while the route's earlier session is still compared (its ports
    /// reused); without its numbers none of the route's answers could be placed. Bounded:
    /// emptied when full.
    private var handshakes = FlatTable<RouteKey, UInt64>(placeholder: 0)
    public static var handshakeLimit: Int { 4096 }

    /// The masked header lines of each tcpcopy that masks any (`compare_config`), and the
    /// filter of each stream it compares (reset at each answer's start). Empty, and never
    /// looked up, when no tcpcopy masks a header.
    private var masks: [Connection: HeaderMaskFilter] = [:]
    private var filters = FlatTable<RouteKey, HeaderMaskFilter?>(placeholder: nil)
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
        var stream = Stream(owner: owner)
        if let slot = handshakes.index(forKey: key) {
            let numbers = handshakes.value(at: slot)
            handshakes.remove(at: slot)
            stream.targetISN = UInt32(truncatingIfNeeded: numbers >> 32)
            stream.clientStart = UInt32(truncatingIfNeeded: numbers)
            stream.knowsHandshake = true
        }
        if !masks.isEmpty, let filter = masks[owner] {
            stream.masks = true
            filters.updateValue(filter, forKey: key)
        } else if !filters.isEmpty {
            // The route's earlier stream may have had one.
            filters.removeValue(forKey: key)
        }
        if let slot = streams.index(forKey: key) {
            streams.modifyValue(at: slot) { $0 = stream }
        } else {
            streams.insert(stream, forAbsentKey: key)
        }
    }

    /// A tcpcopy's masked header names (`compare_config`), for the routes it asks for next.
    public mutating func configure(_ owner: Connection, maskedHeaders: [String]) {
        guard enabled else { return }
        let filter = HeaderMaskFilter(maskedHeaders: maskedHeaders)
        masks[owner] = filter.isMasking ? filter : nil
    }

    /// A response held before its route was registered, delivered by the `register`: a
    /// SYN-ACK's numbers are kept for the `compare` that follows.
    public mutating func handshake(_ packet: TCPPacket) {
        guard enabled, packet.flags.contains([.syn, .ack]) else { return }
        remember(RouteKey(response: packet), packet)
    }

    private mutating func remember(_ key: RouteKey, _ synAck: TCPPacket) {
        let numbers = UInt64(synAck.sequence.rawValue) << 32 | UInt64(synAck.acknowledgment.rawValue)
        if let slot = handshakes.index(forKey: key) {
            handshakes.modifyValue(at: slot) { $0 = numbers }
            return
        }
        if handshakes.count >= Self.handshakeLimit { handshakes = FlatTable(placeholder: 0) }
        handshakes.insert(numbers, forAbsentKey: key)
    }

    public mutating func stop(_ key: RouteKey) {
        streams.removeValue(forKey: key)
        handshakes.removeValue(forKey: key)
        if !filters.isEmpty { filters.removeValue(forKey: key) }
    }

    public mutating func closed(_ owner: Connection) {
        streams.removeAll { $1?.owner == owner }
        masks[owner] = nil
        if !filters.isEmpty {
            filters.removeAll { key, _ in streams.index(forKey: key) == nil }
        }
    }

    /// Appends to `pieces` what to send for a packet the target sent (IP packet, payload
    /// included), each piece's head bytes copied out of the packet: tests' and tools' form of
    /// the other `observe`.
    public mutating func observe(
        _ bytes: UnsafeRawBufferPointer, stampMicroseconds: UInt64, into pieces: inout [AnswerPiece]
    ) -> Connection? {
        guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false, readOptions: false) else {
            return nil
        }
        var reported: [ReportedPiece] = []
        let owner = observe(packet, bytes, stampMicroseconds: stampMicroseconds, into: &reported)
        pieces += reported.map { $0.answerPiece(head: UnsafeRawBufferPointer(rebasing: bytes[$0.head])) }
        return owner
    }

    /// Appends to `pieces` what to send for a packet the target sent (`packet`, parsed from
    /// `bytes`, the IP packet with its payload): one piece, or several when answers begin inside
    /// it; returns to whom, or nil when its route is not compared or it holds nothing new. The
    /// pieces' head bytes stay in `bytes` (`ReportedPiece.head`): nothing is allocated.
    public mutating func observe(
        _ packet: TCPPacket, _ bytes: UnsafeRawBufferPointer, stampMicroseconds: UInt64,
        into pieces: inout [ReportedPiece]
    ) -> Connection? {
        let key = RouteKey(response: packet)
        guard let slot = streams.index(forKey: key) else {
            if enabled, packet.flags.contains([.syn, .ack]) { remember(key, packet) }
            return nil
        }
        // Nothing below adds or removes a stream: the slot stays valid. (Taken out and put back:
        // the work below changes other parts of `self`. Plain numbers: two copies of its bytes.)
        var stream = streams.value(at: slot)!
        defer { streams.modifyValue(at: slot) { $0 = stream } }
        return observe(packet, bytes, key: key, stream: &stream, stampMicroseconds: stampMicroseconds, into: &pieces)
    }

    private mutating func observe(
        _ packet: TCPPacket, _ bytes: UnsafeRawBufferPointer, key: RouteKey, stream: inout Stream,
        stampMicroseconds: UInt64, into pieces: inout [ReportedPiece]
    ) -> Connection? {
        if packet.flags.contains(.syn) {
            // Another ISN on a compared route: the client reused its ports, and the `compare` of
            // the new session (which replaces this stream) is on its way.
            if stream.knowsHandshake, stream.targetISN != packet.sequence.rawValue { remember(key, packet) }
            stream.targetISN = packet.sequence.rawValue
            stream.clientStart = packet.acknowledgment.rawValue
            stream.knowsHandshake = true
            return nil
        }
        guard stream.knowsHandshake else { return nil }
        let offset = packet.sequence.rawValue &- stream.targetISN &- 1
        let acknowledged = packet.acknowledgment.rawValue &- stream.clientStart
        let available = min(packet.payloadLength, bytes.count - packet.headerLength)
        let ending = packet.flags.intersection([.fin, .rst])
        if available <= 0 || packet.payloadLength == 0 {
            guard !ending.isEmpty, !stream.ended else { return nil }
            stream.ended = true
            pieces.append(
                ReportedPiece(
                    key: key, sequenceOffset: offset, acknowledgmentOffset: acknowledged, length: 0, digestedLength: 0,
                    crc: 0, flags: ending, stampMicroseconds: stampMicroseconds, head: 0..<0, startsAnswer: false))
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
        if !stream.hasAnswer || stream.answerAcknowledgment != acknowledged {
            stream.hasAnswer = true
            stream.answerAcknowledgment = acknowledged
            stream.answerStart = start
            resetFilter(of: stream, key)
            if !stream.framer.isFraming { stream.framer = HTTPMessageFramer(kind: .answer) }
        }
        if start != stream.reported, stream.framer.isFraming {
            // A hole (bytes the queue did not copy): the framer cannot follow.
            stream.framer.abandon()
        }
        var rest = (packet.headerLength + skip)..<(packet.headerLength + available)
        stream.reported = end
        while !rest.isEmpty {
            var take = rest.count
            var starts = false
            if stream.framer.isFraming {
                starts = stream.framer.atMessageStart
                take = stream.framer.read(bytes[rest])
                if take == 0 { continue }
                if starts {
                    stream.answerStart = start
                    resetFilter(of: stream, key)
                }
            }
            let taken = rest.lowerBound..<(rest.lowerBound + take)
            pieces.append(
                piece(
                    of: stream, key: key, bytes, taken, at: start, acknowledged: acknowledged, starts: starts,
                    stampMicroseconds: stampMicroseconds))
            start = start &+ UInt32(take)
            rest = taken.upperBound..<rest.upperBound
        }
        // The FIN or RST goes with the packet's last piece.
        pieces[pieces.count - 1].flags = ending
        return stream.owner
    }

    private mutating func resetFilter(of stream: Stream, _ key: RouteKey) {
        guard stream.masks, let slot = filters.index(forKey: key) else { return }
        filters.modifyValue(at: slot) { $0?.reset() }
    }

    /// The piece of `bytes[range]`, the answer stream's bytes from `start`.
    private mutating func piece(
        of stream: Stream, key: RouteKey, _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, at start: UInt32,
        acknowledged: UInt32, starts: Bool, stampMicroseconds: UInt64
    ) -> ReportedPiece {
        let payload = UnsafeRawBufferPointer(rebasing: bytes[range])
        let intoAnswer = Int(start &- stream.answerStart)
        let headCount = intoAnswer < AnswerPiece.headLimit ? min(range.count, AnswerPiece.headLimit - intoAnswer) : 0
        piecesReported += 1
        var crc: UInt32 = 0
        var digested = payload.count
        if stream.masks, let slot = filters.index(forKey: key) {
            scratch.removeAll(keepingCapacity: true)
            filters.modifyValue(at: slot) { $0?.filter(payload, into: &scratch) }
            crc = CRC32C.update(0, with: scratch)
            digested = scratch.count
        } else {
            crc = CRC32C.update(0, with: payload)
        }
        return ReportedPiece(
            key: key, sequenceOffset: start, acknowledgmentOffset: acknowledged, length: UInt16(payload.count),
            digestedLength: UInt16(digested), crc: crc, flags: [], stampMicroseconds: stampMicroseconds,
            head: range.lowerBound..<(range.lowerBound + headCount), startsAnswer: starts)
    }
}

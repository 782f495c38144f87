/// A TCP connection as the online server sees it: the client's address and port, the service port.
public struct CompareConnection: Hashable, Sendable {
    public var clientAddress: IPAddress
    public var clientPort: UInt16
    public var servicePort: UInt16

    public init(clientAddress: IPAddress, clientPort: UInt16, servicePort: UInt16) {
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.servicePort = servicePort
    }

    public var session: String { "\(clientAddress):\(clientPort)" }

    /// One word (`hashWord`, the service address standing as 0): one `combine` per look-up
    /// instead of the address's and both ports'.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(hashWord(clientAddress, clientPort, .v4(IPv4Address(0)), servicePort))
    }
}

/// One piece of the target's answer stream as intercept reports it (`answer_piece`): offsets
/// from the target's SYN-ACK (its sequence number, and its acknowledgment: the copied client's
/// first byte), the piece's length and CRC-32C, and its first bytes when near an answer's start.
public struct AnswerPiece: Hashable, Sendable {
    public static let headLimit = 128

    public var key: RouteKey
    /// The piece's first byte, counted from the target's first data byte.
    public var sequenceOffset: UInt32
    /// How much of the copied client's stream the target had received (the packet's ACK).
    public var acknowledgmentOffset: UInt32
    public var length: UInt16
    /// `length` less the masked header lines' bytes (`compare_config`): what the CRC covers.
    public var digestedLength: UInt16
    public var crc: UInt32
    /// FIN or RST (SYN and ACK are not reported).
    public var flags: TCPFlags
    /// intercept's monotonic clock, microseconds.
    public var stampMicroseconds: UInt64
    /// The piece's first bytes (at most `headLimit`) when they fall in its answer's first
    /// `headLimit` bytes; empty otherwise.
    public var head: [UInt8]
    /// Whether intercept's `HTTPMessageFramer` found an answer beginning at the piece's first
    /// byte (pieces are cut there): pipelined answers are then told apart.
    public var startsAnswer: Bool

    public init(
        key: RouteKey, sequenceOffset: UInt32, acknowledgmentOffset: UInt32, length: UInt16,
        digestedLength: UInt16? = nil, crc: UInt32, flags: TCPFlags, stampMicroseconds: UInt64, head: [UInt8],
        startsAnswer: Bool = false
    ) {
        self.startsAnswer = startsAnswer
        self.digestedLength = digestedLength ?? length
        self.key = key
        self.sequenceOffset = sequenceOffset
        self.acknowledgmentOffset = acknowledgmentOffset
        self.length = length
        self.crc = crc
        self.flags = flags
        self.stampMicroseconds = stampMicroseconds
        self.head = head.count <= Self.headLimit ? head : Array(head.prefix(Self.headLimit))
    }
}

/// Pairs each request of a copied session with production's answer (packets captured leaving
/// the online server) and the target's (`AnswerPiece`s from intercept), and closes exchanges
/// into `Exchange` values. Pure: the caller feeds it packets and time.
///
/// Requests are found in the client's stream alone, as the request gate finds them: a request
/// starts when the client sends new data after having received more of the answer stream
/// (its ACK moved). An answer packet belongs to the last request starting below the packet's
/// own ACK (the server had received that request when it answered), on both sides: so the
/// pairing depends neither on timing nor on the emulation.
///
/// Such a batch holds several requests when the client pipelined them (it sent the next before
/// the answer reached it). On a connection whose first request line is HTTP/1.x, an
/// `HTTPMessageFramer` cuts the batch into its requests, production's answer into one answer
/// each (`FramedAnswer`), and intercept marks where the target's answers begin
/// (`AnswerPiece.startsAnswer`): the batch's Nth answer goes with its Nth request, on each side.
/// A batch's answers are never cut into more parts than it has requests (an extra answer joins
/// the last one); other protocols keep one exchange per batch.
public struct ExchangeTracker {
    /// Connections followed at most; later ones are not compared (`notTracked`).
    public let connectionLimit: Int
    /// An exchange whose next request began this long ago is closed whatever the target did.
    public let settleMicroseconds: Int64
    /// How long after its copies ended a connection's exchanges close.
    public let graceMicroseconds: Int64 = 500_000
    private let filterTemplate: HeaderMaskFilter
    private var connections: [CompareConnection: Connection] = [:]
    private var targets: [RouteKey: TargetSide] = [:]
    public private(set) var notTracked = 0
    /// Exchanges of connections closed early (their ports reused), for the next `collect`.
    private var retired: [Exchange] = []
    /// What `collect` looks at, so that it never scans every connection: copies that ended (a
    /// connection closes `graceMicroseconds` after its last copy ended), connections seen but
    /// not copied (forgotten `settleMicroseconds` after their SYN), and connections with more
    /// than one open batch (an earlier one may be settled).
    private var endedCopies: [(microseconds: Int64, connection: CompareConnection)] = []
    private var uncopied: [(microseconds: Int64, connection: CompareConnection)] = []
    private var severalOpen: Set<CompareConnection> = []
    /// Connections whose client, server and targets all sent a FIN or RST, when `collect` last
    /// ran before: closed `graceMicroseconds` later, without waiting for their copies to end
    /// (tcpcopy keeps a copy a few seconds after its connection closed).
    private var finished: [(microseconds: Int64, connection: CompareConnection)] = []
    private var lastCollect: Int64 = 0

    public init(
        maskedHeaders: [String] = [], connectionLimit: Int = 65_536, settleMicroseconds: Int64 = 5_000_000
    ) {
        filterTemplate = HeaderMaskFilter(maskedHeaders: maskedHeaders)
        self.connectionLimit = connectionLimit
        self.settleMicroseconds = settleMicroseconds
    }

    public var connectionCount: Int { connections.count }

    /// A gated batch: one request, or several pipelined ones (`pipelined`).
    struct Request {
        var start: Int64
        var end: Int64
        /// The client's ACK when it began: where production's answer to it starts.
        var answerStart: Int64
        /// Of the batch's first request.
        var lastByteMicroseconds: Int64
        var firstBytes: [UInt8]
        var online: FramedAnswer
        /// How production's answer ended when it sent nothing, or after its last answer.
        var onlineEnding: AnswerEnding = .silent
        var onlineFirstByteMicroseconds: Int64?
        /// The batch's requests after the first, found by the request framer.
        var pipelined: [PipelinedRequest] = []

        var requestCount: Int { 1 + pipelined.count }

        /// The request holding client byte `offset` (0: the first).
        func part(holding offset: Int64) -> Int {
            var part = pipelined.count
            while part > 0, pipelined[part - 1].start > offset { part -= 1 }
            return part
        }

        mutating func setLastByte(_ microseconds: Int64) {
            if pipelined.isEmpty {
                lastByteMicroseconds = microseconds
            } else {
                pipelined[pipelined.count - 1].lastByteMicroseconds = microseconds
            }
        }
    }

    struct PipelinedRequest {
        var start: Int64
        var lastByteMicroseconds: Int64
        var firstBytes: [UInt8]
    }

    struct Connection {
        var clientISN: UInt32?
        var serverISN: UInt32?
        var requests: [Request] = []
        /// Exchanges before this one are closed and dropped from `requests`.
        var firstOpen = 1
        var startedMicroseconds: Int64
        var targets: [RouteKey] = []
        /// One past the highest client byte seen (relative).
        var clientEnd: Int64 = 0
        /// Finds the client's HTTP/1.x requests; nil when the stream is not that (or had a gap).
        var requestFramer: HTTPMessageFramer? = HTTPMessageFramer(kind: .request)
        /// One past the last client byte the framer read.
        var framedEnd: Int64 = 0
        /// Exchanges numbered so far (a batch numbers one per request).
        var numbered = 0
        /// A FIN or RST came from the client, from the server.
        var clientClosed = false
        var serverClosed = false
    }

    /// The target's answer to a batch: one part per request (`AnswerPiece.startsAnswer`).
    struct TargetExchange {
        var parts: [Int: TargetAnswer] = [:]
        /// How the target ended when it sent nothing, or after its last answer.
        var ending: AnswerEnding = .silent
        /// When tcpcopy sent each request's last segment to the target, by request.
        var requestSentMicroseconds: [Int64?] = []
    }

    struct TargetAnswer {
        var base: Int64
        var digest = SegmentCRCCombiner()
        var head: [UInt8] = []
        var firstMicroseconds: Int64?

        mutating func add(_ piece: AnswerPiece, offset: Int64, microseconds: Int64) {
            digest.add(
                offset: UInt64(offset), length: UInt64(piece.length), crc: piece.crc,
                digestedLength: UInt64(piece.digestedLength))
            if firstMicroseconds == nil { firstMicroseconds = microseconds }
            if !piece.head.isEmpty, offset <= Int64(head.count), head.count < AnswerPiece.headLimit {
                let skip = Int(Int64(head.count) - offset)
                if skip < piece.head.count {
                    head.append(contentsOf: piece.head[skip...].prefix(AnswerPiece.headLimit - head.count))
                }
            }
        }
    }

    struct TargetSide {
        var connection: CompareConnection
        var copiedISN: UInt32?
        var exchanges: [Int: TargetExchange] = [:]
        /// Answers intercept saw begin (`AnswerPiece.startsAnswer`): the Nth goes with the
        /// connection's Nth request, whichever batch's ACK it left with.
        var answersStarted = 0
        /// The batch number and request of the answer being received, for the pieces after its first.
        var current: (number: Int, part: Int)?
        var highestExchange = 0
        var endedAt: Int64?
        /// The target sent a FIN or RST.
        var closed = false
        /// The target's side can be ahead of production's capture (the copy leaves as soon as
        /// tcpcopy's own capture has the request): observations beyond the client bytes seen
        /// here wait for them.
        var pendingSends: [(offset: Int64, end: Int64, microseconds: Int64)] = []
        var pendingPieces: [(piece: AnswerPiece, microseconds: Int64)] = []
    }

    /// Observations held at most per copy; more are dropped (`pendingDropped`).
    public static let pendingLimit = 4096
    public private(set) var pendingDropped = 0

    // MARK: production's side

    /// A client packet to the service (captured arriving at the online server).
    public mutating func client(
        _ connection: CompareConnection, sequence: UInt32, acknowledgment: UInt32, flags: TCPFlags,
        payload: UnsafeRawBufferPointer, microseconds: Int64
    ) {
        if flags.contains(.syn) {
            if var known = connections[connection] {
                if known.requests.isEmpty {
                    // Registered by its copy before its SYN was seen here, or a repeated SYN.
                    known.clientISN = sequence
                    known.startedMicroseconds = microseconds
                    connections[connection] = known
                    return
                }
                // A repeated SYN, or the client reused the ports: the earlier connection is over.
                guard known.clientISN != sequence else { return }
                retireEarly(connection)
            }
            guard connections.count < connectionLimit else {
                notTracked += 1
                return
            }
            connections[connection] = Connection(clientISN: sequence, startedMicroseconds: microseconds)
            uncopied.append((microseconds, connection))
            return
        }
        guard let slot = connections.index(forKey: connection), let clientISN = connections.values[slot].clientISN
        else { return }
        // Taken out of the table while it changes, so that its arrays are not copied.
        var state = Self.take(&connections.values[slot])
        var grew = false
        defer {
            connections.values[slot] = state
            // Once it is stored (they read the copies' sides, and the state as it is now).
            if grew, !state.targets.isEmpty { releasePending(of: state) }
            if grew || !flags.isDisjoint(with: [.fin, .rst]) { noteIfFinished(connection, state) }
        }
        if !flags.isDisjoint(with: [.fin, .rst]) { state.clientClosed = true }
        // The handshake's ACK names the server's ISN when the SYN-ACK was not seen.
        if state.serverISN == nil, flags.contains(.ack) { state.serverISN = acknowledgment &- 1 }
        guard !payload.isEmpty, let serverISN = state.serverISN else { return }
        let offset = Int64(Int32(bitPattern: sequence &- clientISN &- 1))
        let acked = Int64(Int32(bitPattern: acknowledgment &- serverISN &- 1))
        let end = offset + Int64(payload.count)
        if end > state.clientEnd {
            state.clientEnd = end
            grew = true
        }
        if let last = state.requests.last, offset < last.end || acked <= last.answerStart {
            // More of the current batch (or a repeat of it).
            if end > last.end {
                let index = state.requests.count - 1
                state.requests[index].end = end
                state.requests[index].setLastByte(microseconds)
                frameRequests(&state, offset: offset, payload, microseconds: microseconds)
                if let part = state.requests[index].pipelined.indices.last {
                    Self.appendFirstBytes(
                        &state.requests[index].pipelined[part].firstBytes,
                        from: state.requests[index].pipelined[part].start, offset: offset, payload)
                } else {
                    Self.appendFirstBytes(
                        &state.requests[index].firstBytes, from: state.requests[index].start, offset: offset, payload)
                }
            }
            return
        }
        guard offset >= 0 else { return }
        var request = Request(
            start: offset, end: end, answerStart: acked, lastByteMicroseconds: microseconds, firstBytes: [],
            online: FramedAnswer(filter: filterTemplate, framing: state.requestFramer != nil))
        Self.appendFirstBytes(&request.firstBytes, from: offset, offset: offset, payload)
        state.requests.append(request)
        if state.requests.count == 2 { severalOpen.insert(connection) }
        frameRequests(&state, offset: offset, payload, microseconds: microseconds)
    }

    /// Reads the client's new bytes with the connection's request framer: each request found
    /// after its batch's first byte is one of the batch's pipelined requests. A gap in the
    /// client's stream stops the framing (the connection's later batches are one exchange each).
    private func frameRequests(
        _ state: inout Connection, offset: Int64, _ payload: UnsafeRawBufferPointer, microseconds: Int64
    ) {
        guard state.requestFramer != nil else { return }
        let end = offset + Int64(payload.count)
        guard end > state.framedEnd else { return }
        guard offset <= state.framedEnd else {
            state.requestFramer = nil
            return
        }
        var rest = payload[Int(state.framedEnd - offset)...]
        while !rest.isEmpty, state.requestFramer?.isFraming == true {
            let position = state.framedEnd
            let starts = state.requestFramer!.atMessageStart
            let take = state.requestFramer!.read(rest)
            if starts, let index = state.requests.indices.last, position > state.requests[index].start {
                if position > offset { state.requests[index].setLastByte(microseconds) }
                var request = PipelinedRequest(start: position, lastByteMicroseconds: microseconds, firstBytes: [])
                Self.appendFirstBytes(&request.firstBytes, from: position, offset: offset, payload)
                state.requests[index].pipelined.append(request)
            }
            state.framedEnd += Int64(take)
            rest = rest.dropFirst(take)
        }
        if state.requestFramer?.isFraming == false { state.requestFramer = nil }
        state.framedEnd = max(state.framedEnd, end)
    }

    private static func appendFirstBytes(
        _ firstBytes: inout [UInt8], from start: Int64, offset: Int64, _ payload: UnsafeRawBufferPointer
    ) {
        let have = start + Int64(firstBytes.count)
        guard firstBytes.count < AnswerDigest.headLimit, offset <= have, offset + Int64(payload.count) > have
        else { return }
        let skip = Int(have - offset)
        firstBytes.append(contentsOf: payload[skip...].prefix(AnswerDigest.headLimit - firstBytes.count))
    }

    /// A packet the online server sent to the client (captured leaving it).
    public mutating func server(
        _ connection: CompareConnection, sequence: UInt32, acknowledgment: UInt32, flags: TCPFlags,
        payload: UnsafeRawBufferPointer, microseconds: Int64
    ) {
        guard let slot = connections.index(forKey: connection) else { return }
        if !flags.isDisjoint(with: [.fin, .rst]) {
            connections.values[slot].serverClosed = true
            defer { noteIfFinished(connection) }
        }
        var state = Self.take(&connections.values[slot])
        defer { connections.values[slot] = state }
        if flags.contains(.syn) {
            state.serverISN = sequence
            return
        }
        guard let clientISN = state.clientISN, let serverISN = state.serverISN else { return }
        let acked = Int64(Int32(bitPattern: acknowledgment &- clientISN &- 1))
        guard let index = Self.requestIndex(in: state.requests, acknowledged: acked) else { return }
        if payload.isEmpty {
            if flags.contains(.rst) || flags.contains(.fin), state.requests[index].onlineEnding == .silent {
                state.requests[index].onlineEnding = flags.contains(.rst) ? .reset : .closed
            }
            return
        }
        let offset = Int64(Int32(bitPattern: sequence &- serverISN &- 1)) - state.requests[index].answerStart
        guard offset >= 0 else { return }
        state.requests[index].online.add(
            offset: UInt64(offset), payload, microseconds: microseconds,
            partLimit: state.requests[index].requestCount)
        if offset == 0 || state.requests[index].onlineFirstByteMicroseconds == nil {
            let first = state.requests[index].onlineFirstByteMicroseconds ?? microseconds
            state.requests[index].onlineFirstByteMicroseconds = min(first, microseconds)
        }
    }

    /// The connection at a slot of the table, leaving an empty one there: changed as a local, it
    /// is not copied (its arrays are referenced once), and it is put back when done.
    private static func take(_ slot: inout Connection) -> Connection {
        let state = slot
        slot = Connection(clientISN: nil, startedMicroseconds: 0)
        return state
    }

    private static func take(_ slot: inout TargetSide) -> TargetSide {
        let side = slot
        slot = TargetSide(connection: side.connection)
        return side
    }

    /// The request an answer acknowledging `acked` client bytes belongs to: the last one that
    /// starts below it.
    static func requestIndex(in requests: [Request], acknowledged acked: Int64) -> Int? {
        var index = requests.count - 1
        while index >= 0, requests[index].start >= acked { index -= 1 }
        return index >= 0 ? index : nil
    }

    // MARK: the target's side

    /// tcpcopy registered a copy of `connection` at a target, to be compared; false when no more
    /// connections are followed (`connectionLimit`).
    @discardableResult
    public mutating func copyStarted(_ key: RouteKey, of connection: CompareConnection) -> Bool {
        if let earlier = targets[key]?.connection {
            // A new session on a route still followed: the client reused its ports (copies
            // end a while after their connections), and the earlier connection is over.
            retireEarly(earlier)
        }
        if connections[connection] == nil {
            // The copy may start before this side's capture shows the SYN.
            guard connections.count < connectionLimit else {
                notTracked += 1
                return false
            }
            connections[connection] = Connection(clientISN: nil, startedMicroseconds: 0)
        }
        targets[key] = TargetSide(connection: connection)
        connections[connection]?.targets.append(key)
        return true
    }

    /// tcpcopy sent a copied client segment to the target (its SYN names the copied ISN; a data
    /// segment's time is the request's sending time for the target's latency).
    public mutating func sentToTarget(
        _ key: RouteKey, sequence: UInt32, flags: TCPFlags, payloadLength: Int, microseconds: Int64
    ) {
        guard payloadLength > 0 || flags.contains(.syn), let slot = targets.index(forKey: key) else { return }
        if flags.contains(.syn) {
            targets.values[slot].copiedISN = sequence
            return
        }
        guard payloadLength > 0, let isn = targets.values[slot].copiedISN,
            let state = connections[targets.values[slot].connection]
        else { return }
        var side = Self.take(&targets.values[slot])
        defer { targets.values[slot] = side }
        let offset = Int64(Int32(bitPattern: sequence &- isn &- 1))
        let end = offset + Int64(payloadLength)
        if end > state.clientEnd || !side.pendingSends.isEmpty {
            guard side.pendingSends.count < Self.pendingLimit else {
                pendingDropped += 1
                return
            }
            side.pendingSends.append((offset, end, microseconds))
            return
        }
        Self.applySend(offset: offset, end: end, microseconds: microseconds, to: &side, state)
    }

    private static func applySend(
        offset: Int64, end: Int64, microseconds: Int64, to side: inout TargetSide, _ state: Connection
    ) {
        guard let index = requestIndex(in: state.requests, acknowledged: offset + 1) else { return }
        let request = state.requests[index]
        var sent = side.exchanges[state.firstOpen + index]?.requestSentMicroseconds ?? []
        if sent.count < request.requestCount { sent += Array(repeating: nil, count: request.requestCount - sent.count) }
        // Every request the segment carries a byte of.
        for part in request.part(holding: offset)...request.part(holding: max(offset, end - 1)) {
            sent[part] = microseconds
        }
        side.exchanges[state.firstOpen + index, default: TargetExchange()].requestSentMicroseconds = sent
    }

    /// Applies the held observations of `state`'s copies that its client bytes now cover (all
    /// of them with `force`).
    private mutating func releasePending(of state: Connection, force: Bool = false) {
        for key in state.targets {
            guard let slot = targets.index(forKey: key),
                !targets.values[slot].pendingSends.isEmpty || !targets.values[slot].pendingPieces.isEmpty
            else { continue }
            var side = Self.take(&targets.values[slot])
            var sends = 0
            for send in side.pendingSends {
                guard force || send.end <= state.clientEnd else { break }
                Self.applySend(offset: send.offset, end: send.end, microseconds: send.microseconds, to: &side, state)
                sends += 1
            }
            side.pendingSends.removeFirst(sends)
            var pieces = 0
            for held in side.pendingPieces {
                guard force || Int64(held.piece.acknowledgmentOffset) <= state.clientEnd else { break }
                Self.applyPiece(held.piece, microseconds: held.microseconds, to: &side, state)
                pieces += 1
            }
            side.pendingPieces.removeFirst(pieces)
            targets.values[slot] = side
        }
    }

    /// intercept reported a piece of the target's answer stream, received at `microseconds`.
    public mutating func targetAnswered(_ piece: AnswerPiece, microseconds: Int64) {
        guard let slot = targets.index(forKey: piece.key), let state = connections[targets.values[slot].connection]
        else { return }
        let connection = targets.values[slot].connection
        // Runs after the side is stored.
        defer { if !piece.flags.isDisjoint(with: [.fin, .rst]) { noteIfFinished(connection) } }
        var side = Self.take(&targets.values[slot])
        defer { targets.values[slot] = side }
        if Int64(piece.acknowledgmentOffset) > state.clientEnd || !side.pendingPieces.isEmpty {
            guard side.pendingPieces.count < Self.pendingLimit else {
                pendingDropped += 1
                return
            }
            side.pendingPieces.append((piece, microseconds))
            return
        }
        Self.applyPiece(piece, microseconds: microseconds, to: &side, state)
    }

    private static func applyPiece(
        _ piece: AnswerPiece, microseconds: Int64, to side: inout TargetSide, _ state: Connection
    ) {
        if !piece.flags.isDisjoint(with: [.fin, .rst]) { side.closed = true }
        if piece.length > 0, state.requestFramer != nil, piece.startsAnswer || side.current != nil {
            // HTTP/1.x: answers are counted, so that one the target sent late (after the next
            // batch was released to it, e.g. held by Nagle's algorithm) is still its request's.
            if piece.startsAnswer {
                side.current = locate(request: side.answersStarted, in: state)
                side.answersStarted += 1
            }
            guard let (number, part) = side.current else { return }  // its batch is closed
            side.highestExchange = max(side.highestExchange, number)
            let sequence = Int64(piece.sequenceOffset)
            // Taken out while it changes, so that its arrays are not copied.
            var answer = side.exchanges[number]?.parts.removeValue(forKey: part) ?? TargetAnswer(base: sequence)
            let offset = sequence - answer.base
            if offset >= 0 { answer.add(piece, offset: offset, microseconds: microseconds) }
            side.exchanges[number, default: TargetExchange()].parts[part] = answer
            return
        }
        guard let index = requestIndex(in: state.requests, acknowledged: Int64(piece.acknowledgmentOffset))
        else { return }
        let number = state.firstOpen + index
        side.highestExchange = max(side.highestExchange, number)
        var exchange = side.exchanges[number] ?? TargetExchange()
        defer { side.exchanges[number] = exchange }
        if piece.length == 0 {
            if exchange.ending == .silent, !piece.flags.intersection([.rst, .fin]).isEmpty {
                exchange.ending = piece.flags.contains(.rst) ? .reset : .closed
            }
            return
        }
        // Other protocols: the batch's answer is one, placed by its offset.
        let sequence = Int64(piece.sequenceOffset)
        var answer = exchange.parts[0] ?? TargetAnswer(base: sequence)
        answer.base = min(answer.base, sequence)
        let offset = sequence - answer.base
        guard offset >= 0 else { return }
        answer.add(piece, offset: offset, microseconds: microseconds)
        exchange.parts[0] = answer
    }

    /// The batch number and request within it of the connection's request `request` (0: its
    /// first), or nil when that batch is closed or the request not seen.
    private static func locate(request: Int, in state: Connection) -> (number: Int, part: Int)? {
        var first = state.numbered
        guard request >= first else { return nil }
        for (index, batch) in state.requests.enumerated() {
            if request < first + batch.requestCount { return (state.firstOpen + index, request - first) }
            first += batch.requestCount
        }
        return nil
    }

    /// tcpcopy's copy at the target ended (its route unregistered) at `microseconds` (the
    /// target side's clock). Its exchanges close `graceMicroseconds` later: production's last
    /// answers may still be in the capture's buffer.
    public mutating func copyEnded(_ key: RouteKey, microseconds: Int64) {
        guard let slot = targets.index(forKey: key) else { return }
        targets.values[slot].endedAt = microseconds
        endedCopies.append((microseconds, targets.values[slot].connection))
    }

    // MARK: closing exchanges

    /// Closes what is settled: an exchange whose next request has begun and that the target has
    /// moved past (or `settleMicroseconds` ago), and every exchange of a connection whose copies
    /// all ended. `now` is on the clock of the `microseconds` given to `targetAnswered`.
    public mutating func collect(now: Int64, onlineNow: Int64?, into exchanges: inout [Exchange]) {
        if !retired.isEmpty {
            exchanges += retired
            retired.removeAll(keepingCapacity: true)
        }
        if now == Int64.max {
            // At exit: everything.
            for connection in Array(connections.keys) { retire(connection, into: &exchanges) }
            endedCopies.removeAll()
            finished.removeAll()
            uncopied.removeAll()
            severalOpen.removeAll()
            return
        }
        if lastCollect == 0 {
            // Noted before the first collect: their grace starts now.
            for index in finished.indices { finished[index].microseconds = now }
        }
        lastCollect = now
        var done = 0
        for (at, connection) in finished {
            guard now - at >= graceMicroseconds else { break }
            done += 1
            if let state = connections[connection], state.clientClosed, state.serverClosed,
                state.targets.allSatisfy({ targets[$0]?.closed ?? true })
            {
                retire(connection, into: &exchanges)
            }
        }
        finished.removeFirst(done)
        done = 0
        for (endedAt, connection) in endedCopies {
            guard now - endedAt >= graceMicroseconds else { break }
            done += 1
            // Closed when every copy of it ended that long ago (the last one's entry does it).
            guard let state = connections[connection], !state.targets.isEmpty,
                state.targets.allSatisfy({ key in
                    guard let ended = targets[key]?.endedAt else { return targets[key] == nil }
                    return now - ended >= graceMicroseconds
                })
            else { continue }
            retire(connection, into: &exchanges)
        }
        endedCopies.removeFirst(done)
        done = 0
        if let onlineNow {
            for (started, connection) in uncopied {
                guard onlineNow - started > settleMicroseconds else { break }
                done += 1
                if let state = connections[connection], state.targets.isEmpty,
                    state.startedMicroseconds == started
                {
                    retire(connection, into: &exchanges)
                }
            }
            uncopied.removeFirst(done)
        }
        for connection in severalOpen {
            guard let slot = connections.index(forKey: connection) else {
                severalOpen.remove(connection)
                continue
            }
            let closable = closableCount(of: connections.values[slot], onlineNow: onlineNow)
            if closable > 0 {
                var state = Self.take(&connections.values[slot])
                close(closable, of: &state, connection, into: &exchanges)
                connections.values[slot] = state
            }
            if connections.values[slot].requests.count < 2 { severalOpen.remove(connection) }
        }
    }

    /// How many of a connection's first open batches are settled: the next one has begun and
    /// every copy's target has answered past them, or the next began `settleMicroseconds` ago.
    private func closableCount(of state: Connection, onlineNow: Int64?) -> Int {
        var closable = 0
        while closable + 1 < state.requests.count {
            let number = state.firstOpen + closable
            let movedOn = state.targets.allSatisfy { (targets[$0]?.highestExchange ?? 0) > number }
            let waitedLong =
                onlineNow.map { $0 - state.requests[closable + 1].lastByteMicroseconds > settleMicroseconds } ?? false
            guard movedOn || waitedLong else { break }
            closable += 1
        }
        return closable
    }

    /// Notes `connection` as finished when its client, server and every copy's target sent a FIN
    /// or RST.
    private mutating func noteIfFinished(_ connection: CompareConnection, _ known: Connection? = nil) {
        guard let state = known ?? connections[connection], state.clientClosed, state.serverClosed,
            !state.targets.isEmpty, state.targets.allSatisfy({ targets[$0]?.closed ?? true })
        else { return }
        finished.append((lastCollect, connection))
    }

    /// `retire`, the exchanges kept for the next `collect`.
    private mutating func retireEarly(_ connection: CompareConnection) {
        var closed: [Exchange] = []
        retire(connection, into: &closed)
        retired += closed
    }

    /// Closes every exchange of `connection` and forgets it (its copies ended, or a new
    /// connection took its ports).
    private mutating func retire(_ connection: CompareConnection, into exchanges: inout [Exchange]) {
        guard var state = connections.removeValue(forKey: connection) else { return }
        if !state.targets.isEmpty { releasePending(of: state, force: true) }
        close(state.requests.count, of: &state, connection, into: &exchanges)
        for key in state.targets { targets[key] = nil }
    }

    /// Closes the first `count` open batches of `state`: an exchange for each of their requests
    /// and each copy.
    private mutating func close(
        _ count: Int, of state: inout Connection, _ connection: CompareConnection, into exchanges: inout [Exchange]
    ) {
        for index in 0..<count {
            let number = state.firstOpen + index
            let request = state.requests[index]
            for key in state.targets {
                let targetExchange = targets[key]?.exchanges.removeValue(forKey: number) ?? TargetExchange()
                for part in 0..<request.requestCount {
                    exchanges.append(
                        Self.exchange(
                            connection, number: state.numbered + part + 1, request, part: part, targetExchange))
                }
            }
            state.numbered += request.requestCount
        }
        if count > 0 {
            state.requests.removeFirst(count)
            state.firstOpen += count
        }
    }

    /// Request `part` of the batch `request` and both sides' answers to it.
    private static func exchange(
        _ connection: CompareConnection, number: Int, _ request: Request, part: Int, _ target: TargetExchange
    ) -> Exchange {
        let lastByte = part == 0 ? request.lastByteMicroseconds : request.pipelined[part - 1].lastByteMicroseconds
        let onlineFirst =
            part == 0
            ? request.onlineFirstByteMicroseconds
            : request.online.parts.indices.contains(part) ? request.online.parts[part].firstMicroseconds : nil
        let onlineLatency = onlineFirst.map { UInt64(max(0, $0 - lastByte)) }
        let online = request.online.facts(
            part: part, ending: part < request.online.parts.count ? .answered : request.onlineEnding,
            latencyMicroseconds: onlineLatency)
        let targetFacts: AnswerFacts
        if let answer = target.parts[part] {
            let sent = part < target.requestSentMicroseconds.count ? target.requestSentMicroseconds[part] : nil
            let targetLatency: UInt64? =
                if let first = answer.firstMicroseconds, let sent { UInt64(max(0, first - sent)) } else { nil }
            let length = answer.digest.highestEnd
            // Bytes not joined (past a hole) count as they are, as on production's side.
            let compared = answer.digest.digestedLength + (length - answer.digest.contiguousLength)
            targetFacts = AnswerFacts(
                ending: .answered, length: length, comparedLength: compared, digest: answer.digest.digest,
                head: answer.head, latencyMicroseconds: targetLatency)
        } else {
            targetFacts = AnswerFacts(ending: target.ending)
        }
        let firstBytes = part == 0 ? request.firstBytes : request.pipelined[part - 1].firstBytes
        return Exchange(
            connection: connection, number: UInt64(number), requestHead: firstBytes, online: online,
            target: targetFacts)
    }
}

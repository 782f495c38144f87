/// One client connection replayed against the target: tcpcopy plays the client's part of TCP.
///
/// The states are the client's TCP states (RFC 793 names). Events come from two sides: packets
/// the client sent to the online server (captured), and the headers of the target's responses
/// (from intercept). Each event is one `mutating func` that appends the actions the caller
/// must perform; the session itself does no I/O.
///
///     synSent ──SYN-ACK──► established ──client FIN sent──► finWait1 ──FIN acked──► finWait2
///                             │                                │ target FIN              │ target FIN
///                             │ target FIN                     ▼                         ▼
///                             ▼                             closing ──FIN acked──►  closed(completed)
///                          closeWait ──client FIN sent──► lastAck ──FIN acked──►  closed(completed)
///
/// Any state → closed(resetByTarget) on the target's RST; → closed(timedOut / keepAliveTimedOut /
/// gaveUp / aborted / clientReset) as the names say. In closeWait, new client data means the
/// target closed a connection the client keeps using: the session ends (completed) and hands the
/// rest of the stream to a new session on another port (`SessionAction.reopen`).
///
/// The target's data and FIN are acknowledged as a client's TCP with delayed ACKs does it
/// (`DelayedAck`): every segment we send carries `acknowledgment = targetNext`, so the ACK waits
/// up to `SessionTuning.delayedAckMilliseconds` for the next request or our FIN to carry it, and
/// goes bare only if nothing does. It goes at once when waiting would hurt the target: two full
/// segments unacknowledged, a segment it repeated (our ACK was lost), its FIN after ours (the
/// session ends), the end of the session. The handshake's ACK rides on the first request when one
/// is queued. A short `Connection: close` session thus sends SYN, request, FIN.
public struct EmulatedSession: Sendable {
    public enum State: Hashable, Sendable {
        case synSent, established, finWait1, finWait2, closeWait, lastAck, closing
        case closed(SessionOutcome)
    }

    public let key: RouteKey
    public private(set) var state: State
    private let tuning: SessionTuning

    // The client → target stream.
    private let clientISN: SequenceNumber
    private let synOptions: TCPOptions
    /// Next sequence number expected from the capture.
    private var clientNext: SequenceNumber
    /// Captured, in order, not yet sent.
    private var queue = SegmentList()
    /// Payload bytes in `queue`, and whether it ends with the client's FIN: kept as the queue
    /// changes, because a copy that lags its client can queue thousands of segments and these
    /// are asked for on every captured packet.
    private var queuedPayloadBytes = 0
    private var finQueued = false
    /// Captured ahead of a gap (lost or reordered capture).
    private var outOfOrder: [PendingSegment] = []
    /// Sent, not yet acknowledged by the target; kept for retransmission.
    private var inFlight = SegmentList()
    private var sendNext: SequenceNumber
    private var targetAcked: SequenceNumber
    private var finSequence: SequenceNumber?
    private var resetPending = false
    /// Largest TSval the client used: ours must never go backwards (the target's PAWS check).
    private var clientTimestamp: UInt32?

    // The target → client stream.
    private var targetNext = SequenceNumber(0)
    private var targetTimestamp: UInt32 = 0
    private var timestampsEnabled = false
    private var targetWindowScale: UInt8 = 0
    private var targetWindow = 65535
    private var targetMSS = 536
    /// The payload of a full-sized segment from the target: bounded by the MSS our SYN announced
    /// and by the target's own (its MTU), less the timestamp option.
    private var targetSegmentSize = 536
    private var targetFinReceived = false
    /// Our acknowledgment of the target's stream, when no segment has carried it yet.
    private var delayedAck = DelayedAck()

    private var gate: RequestGate
    private var lastActivity: MonotonicTime
    private var retransmitDeadline: MonotonicTime?
    private var retransmitInterval: Int64
    private var roundTrip = RoundTripEstimator()
    /// The segment timed for a round-trip sample: its end and when it was sent.
    private var roundTripProbe: (end: SequenceNumber, sentAt: MonotonicTime)?
    private let startedAt: MonotonicTime
    private var retransmitCount = 0
    private var duplicateAcks = 0
    private var finWait2Since: MonotonicTime?
    /// Since when captured segments have been waiting beyond a gap.
    private var gapSince: MonotonicTime?
    /// Data retransmissions this session made (for the daemon's counters).
    public private(set) var retransmissions = 0
    /// Old connections of this port the target still held and we reset (`staleConnectionReset`).
    public private(set) var staleConnectionResets = 0
    /// RSTs of an older connection on this port, turned away (`resetBelongsHere`).
    public private(set) var strayResets = 0
    /// The target keeps this port in TIME_WAIT after we finish: its FIN did not acknowledge
    /// ours (it closed first, or the two FINs crossed, which also ends in TIME_WAIT on its side).
    public private(set) var targetHoldsTimeWait = false

    /// Starts a session from the client's SYN: registers the route, then sends the SYN.
    public init(
        key: RouteKey, syn: TCPPacket, tuning: SessionTuning, now: MonotonicTime,
        actions: inout [SessionAction]
    ) {
        self.key = key
        self.tuning = tuning
        state = .synSent
        clientISN = syn.sequence
        clientNext = syn.sequence + 1
        sendNext = syn.sequence + 1
        targetAcked = syn.sequence
        // SACK is left out: we never send SACK blocks, and the client's would describe the
        // online server's stream, not the target's.
        synOptions = TCPOptions(
            maximumSegmentSize: syn.options.maximumSegmentSize,
            windowScale: syn.options.windowScale, timestamp: syn.options.timestamp)
        clientTimestamp = syn.options.timestamp?.value
        gate = RequestGate(now: now)
        lastActivity = now
        retransmitInterval = tuning.synRetransmitMilliseconds
        startedAt = now
        retransmitDeadline = now + tuning.synRetransmitMilliseconds
        actions.append(.register(key))
        send(synSegment(), actions: &actions)
    }

    /// Starts a session for a connection whose beginning tcpcopy did not see: a SYN is made up
    /// just before `first` (MSS `synMSS`, timestamps if the client uses them) and the capture goes
    /// on from `first`, which counts as the first request.
    public init(
        key: RouteKey, synthesizingFrom first: TCPPacket, synMSS: Int, tuning: SessionTuning,
        now: MonotonicTime, actions: inout [SessionAction]
    ) {
        let syn = Self.madeUpSYN(
            for: key, before: first.sequence, synMSS: synMSS, timestamp: first.options.timestamp?.value)
        self.init(key: key, syn: syn, tuning: tuning, now: now, actions: &actions)
        gate.setBaseline(clientAck: first.acknowledgment)
    }

    /// Starts a session that carries on `stream` after the target closed the previous one
    /// (see `SessionAction.reopen`).
    public init(
        key: RouteKey, continuing stream: ClientStream, timestamp: UInt32?, synMSS: Int,
        tuning: SessionTuning, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        let syn = Self.madeUpSYN(for: key, before: stream.sequence, synMSS: synMSS, timestamp: timestamp)
        self.init(key: key, syn: syn, tuning: tuning, now: now, actions: &actions)
        if let first = stream.segments.first { gate.setBaseline(clientAck: first.clientAck) }
        for segment in stream.segments { accept(segment, now: now) }
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

    /// Whether a timer shorter than the idle timeout is running: a retransmission, a held
    /// request's wait, a client reset waiting for the data before it, the FIN-WAIT-2 limit, or a
    /// delayed ACK.
    public var hasShortTimer: Bool {
        retransmitDeadline != nil || !queue.isEmpty || resetPending || finWait2Since != nil
            || delayedAck.isPending
    }

    /// The next time `tick` may have something to do; nil once closed.
    @inline(__always)
    public func nextDeadline(now: MonotonicTime) -> MonotonicTime? {
        guard !isClosed else { return nil }
        var deadline = lastActivity + tuning.idleTimeoutMilliseconds
        if let limit = tuning.keepAliveTimeoutMilliseconds, state == .established {
            deadline = min(deadline, lastActivity + limit)
        }
        if let retransmit = retransmitDeadline { deadline = min(deadline, retransmit) }
        if let ack = delayedAck.deadline { deadline = min(deadline, ack) }
        if let since = finWait2Since { deadline = min(deadline, since + tuning.finWait2Milliseconds) }
        if let since = gapSince { deadline = min(deadline, since + tuning.captureGapMilliseconds) }
        if state == .established || state == .closeWait, !queue.isEmpty {
            // Held requests: the target's answers and acknowledgments arrive as events, which
            // pump again; by the clock alone only the gate opens. (At full load thousands of
            // sessions hold their client's FIN until the answer; polling each every 10 ms cost
            // a sixth of tcpcopy's time.) Not sooner than 10 ms: when the gate is open and the
            // window or an unacknowledged FIN holds the queue, that is again up to events.
            let opens = gate.opensByClock(
                everythingAcked: targetAcked == sendNext,
                quietMilliseconds: responseQuietTime, tuning: tuning)
            deadline = min(deadline, max(opens, now + 10))
        }
        return deadline
    }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// What a live session is waiting for. tcpcopy counts the sessions it ends when it stops
    /// by this (`sessions_stopped_awaiting_*`): the copies a run lost at its end, and why.
    public enum Wait: String, CaseIterable, Sendable {
        /// Our SYN is unanswered.
        case handshake
        /// Data of ours is unacknowledged (retransmitting, or not yet due).
        case acknowledgment
        /// A request waits in the queue for the target's answer to the one before.
        case answer
        /// Closing: a FIN exchange is under way.
        case close
        /// Nothing of ours outstanding: the client is quiet.
        case client
    }

    public var waitingFor: Wait {
        switch state {
        case .synSent: .handshake
        case .finWait1, .finWait2, .lastAck, .closing, .closed: .close
        case .established, .closeWait:
            !inFlight.isEmpty ? .acknowledgment : !queue.isEmpty ? .answer : .client
        }
    }

    /// Whether `syn` is the SYN that started this session (a retransmission of it).
    public func isStartedBy(_ syn: TCPPacket) -> Bool { syn.sequence == clientISN }

    /// Whether request bytes of an established session wait in the queue: held until the
    /// target answers the previous request (or its window opens). The event loop then handles
    /// the answer at once instead of sleeping out its batching window, so that a client sending
    /// request after request on one connection is copied at the target's pace, not one request
    /// per window. A request waiting for the handshake does not count: nearly every new
    /// session has one, and a handshake per window is the batching that saves the CPU.
    public var holdsRequestData: Bool {
        queuedPayloadBytes > 0 && (state == .established || state == .closeWait)
    }

    /// Bytes held for this session (queued, out of order, in flight).
    public var bufferedBytes: Int {
        queuedBytes + inFlight.reduce(0) { $0 + $1.payload.count }
    }

    /// `bufferedBytes` without walking a list, cheap enough to read after every event: the
    /// in-flight bytes by sequence numbers, the out-of-order ones by the span from the gap to
    /// the last of them (the list is kept sorted), which bounds them.
    /// Inlined: called out of line, the session (hundreds of bytes) is copied to pass it.
    public var bufferedBytesEstimate: Int {
        @inline(__always) get {
            let aside = outOfOrder.last.map { max(0, $0.end - clientNext) } ?? 0
            return queuedPayloadBytes + aside + max(0, sendNext - targetAcked)
        }
    }

    // MARK: - Events

    /// A packet the client sent to the online server. `payload` is its TCP payload.
    public mutating func clientSent(
        _ packet: TCPPacket, payload: ArraySlice<UInt8>, now: MonotonicTime,
        actions: inout [SessionAction]
    ) {
        guard !isClosed else { return }
        lastActivity = now
        if let ts = packet.options.timestamp?.value {
            if let known = clientTimestamp {
                clientTimestamp = Int32(bitPattern: ts &- known) > 0 ? ts : known
            } else {
                clientTimestamp = ts
            }
        }
        if packet.flags.contains(.syn) { return }  // a retransmitted SYN: we time our own
        if packet.flags.contains(.ack) { gate.setBaseline(clientAck: packet.acknowledgment) }
        if packet.flags.contains(.rst) {
            resetPending = true
        } else if !payload.isEmpty || packet.flags.contains(.fin) {
            accept(
                PendingSegment(
                    sequence: packet.sequence, payload: payload,
                    isFin: packet.flags.contains(.fin), clientAck: packet.acknowledgment),
                now: now)
            if queuedBytes > tuning.maximumQueuedBytes {
                return abort(.gaveUp, now: now, actions: &actions)
            }
        }
        pump(now: now, actions: &actions)
    }

    /// The headers of a packet the target sent to the client.
    public mutating func targetSent(
        _ header: TCPPacket, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        guard !isClosed else { return }
        lastActivity = now
        if header.flags.contains(.rst) {
            guard resetBelongsHere(header) else {
                strayResets += 1
                return
            }
            return finish(.resetByTarget, actions: &actions)
        }
        if header.flags.contains(.syn) {
            guard header.flags.contains(.ack), header.acknowledgment == clientISN + 1 else { return }
            let repeated = state != .synSent
            if state == .synSent {
                if retransmitCount == 0 { roundTrip.add(sampleMilliseconds: now - startedAt) }
                learnHandshake(from: header)
                state = .established
                stopRetransmitTimer()
            }
            // Our ACK of the SYN-ACK completes the target's handshake, so it cannot wait: it rides
            // on the first request if one goes now, else goes bare.
            delayedAck.makeDue(now: now)
            // A repeated SYN-ACK: the segment that carried our ACK did not complete the
            // handshake (lost, or dropped by a full accept queue). The ACK must start again at
            // our first unacknowledged byte, on that segment resent. An ACK at the end of what we
            // sent would also do for a target that kept the half-open connection; but a target
            // whose SYN queue overflowed answers with SYN cookies and keeps nothing, and checks
            // the cookie against the ACK's sequence number less one: it resets an ACK past the
            // data it never got, and the session and its request are lost (traced in the
            // benchmark at short full load, where the target's listen queue overflows).
            if repeated && !inFlight.isEmpty {
                return resendFirstUnacknowledged(actions: &actions)
            }
            pump(now: now, actions: &actions)
            return acknowledgeIfDue(now: now, actions: &actions)
        }
        guard state != .synSent else {
            return staleConnectionReset(answering: header, now: now, actions: &actions)
        }
        if let ts = header.options.timestamp?.value { targetTimestamp = ts }
        if header.flags.contains(.ack) {
            processAcknowledgment(header, now: now, actions: &actions)
        }
        let carriesSequence = header.payloadLength > 0 || header.flags.contains(.fin)
        if carriesSequence {
            let isFin = header.flags.contains(.fin)
            let end = header.sequence + header.payloadLength + (isFin ? 1 : 0)
            let isNew = end > targetNext
            if isNew {
                gate.noteAnswer(end - targetNext, pushed: header.flags.contains(.psh) || isFin, now: now)
                delayedAck.received(end - targetNext, now: now, delay: tuning.delayedAckMilliseconds)
                targetNext = end
            }
            if isFin && !targetFinReceived {
                targetFinReceived = true
                let ackedOurFin = finSequence.map { header.flags.contains(.ack) && header.acknowledgment > $0 }
                targetHoldsTimeWait = ackedOurFin != true
            }
            // At once rather than delayed: nothing new means the target resent what we had
            // (our ACK was probably lost); two full segments unacknowledged hold back its
            // sending (RFC 5681 4.2); its FIN after ours ends the session, nothing of ours follows.
            if !isNew || delayedAck.unacknowledgedBytes >= 2 * targetSegmentSize || (isFin && finSequence != nil) {
                delayedAck.makeDue(now: now)
            }
        }
        advanceCloseState(now: now, actions: &actions)
        pump(now: now, actions: &actions)
        acknowledgeIfDue(now: now, actions: &actions)
    }

    /// Whether a RST from the target ends this connection or an older one on the same port.
    ///
    /// A session's port may have carried an older connection that the target still holds (a
    /// reclaimed TIME_WAIT port, a client that reused its port); a RST of that connection, in
    /// its own sequence space, reaches this session through intercept, which routes by port.
    /// As RFC 793 and RFC 5961 say: during the handshake a RST counts only if it acknowledges
    /// our SYN; after it, only if its sequence number is where the target's stream is (at or a
    /// little past what we have seen of it, in case intercept missed a segment). A real reset
    /// this turns away is not lost: the target answers our next segment with a RST whose
    /// sequence number is that segment's acknowledgment, exactly where we are.
    private func resetBelongsHere(_ reset: TCPPacket) -> Bool {
        if state == .synSent {
            return reset.flags.contains(.ack) && reset.acknowledgment == clientISN + 1
        }
        let offset = reset.sequence - targetNext
        return offset >= 0 && offset < Self.resetWindow
    }

    /// How far past what we have seen of the target's stream a RST may start: 1 MiB, far more
    /// than a target sends unseen, while a stranger's sequence number lands in it once in 4,096.
    private static let resetWindow = 1 << 20

    /// Timers: retransmissions, held requests whose wait ran out, delayed ACKs, idle and close
    /// timeouts.
    public mutating func tick(now: MonotonicTime, actions: inout [SessionAction]) {
        guard !isClosed else { return }
        if now - lastActivity >= tuning.idleTimeoutMilliseconds {
            return abort(.timedOut, now: now, actions: &actions)
        }
        if let limit = tuning.keepAliveTimeoutMilliseconds, state == .established, !hasShortTimer,
            now - lastActivity >= limit
        {
            return abort(.keepAliveTimedOut, now: now, actions: &actions)
        }
        if let since = finWait2Since, now - since >= tuning.finWait2Milliseconds {
            // Everything we had was delivered and acknowledged: the session did its job.
            sendReset(actions: &actions)
            return finish(.completed, actions: &actions)
        }
        if let deadline = retransmitDeadline, now >= deadline {
            retransmit(now: now, actions: &actions)
            if isClosed { return }
        }
        if let since = gapSince, now - since >= tuning.captureGapMilliseconds, queue.isEmpty, inFlight.isEmpty,
            state == .established || state == .closeWait
        {
            return handOver(.captureGap, now: now, actions: &actions)
        }
        pump(now: now, actions: &actions)
        acknowledgeIfDue(now: now, actions: &actions)
    }

    /// Ends the session now, releasing the target's socket with a RST.
    public mutating func abort(
        _ outcome: SessionOutcome, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        guard !isClosed else { return }
        sendReset(actions: &actions)
        finish(outcome, actions: &actions)
    }

    // MARK: - The client's stream

    /// Queued and out-of-order bytes (out-of-order segments are few: at most
    /// `maximumOutOfOrderSegments`).
    private var queuedBytes: Int {
        queuedPayloadBytes + outOfOrder.reduce(0) { $0 + $1.payload.count }
    }

    /// Puts a captured segment in stream order: duplicates dropped, overlaps trimmed, segments
    /// beyond a gap kept aside until it fills.
    private mutating func accept(_ incoming: PendingSegment, now: MonotonicTime) {
        var segment = incoming
        guard segment.end > clientNext else { return }  // a client retransmission
        if segment.sequence > clientNext {
            if outOfOrder.count < tuning.maximumOutOfOrderSegments,
                !outOfOrder.contains(where: { $0.sequence == segment.sequence })
            {
                if outOfOrder.isEmpty { gapSince = now }
                outOfOrder.append(segment)
                outOfOrder.sort { $0.sequence < $1.sequence }
            }
            return
        }
        segment.trimFront(to: clientNext)
        append(segment)
        while let index = outOfOrder.firstIndex(where: { $0.sequence <= clientNext }) {
            var next = outOfOrder.remove(at: index)
            guard next.end > clientNext else { continue }
            next.trimFront(to: clientNext)
            append(next)
        }
        if outOfOrder.isEmpty { gapSince = nil }
    }

    private mutating func append(_ segment: PendingSegment) {
        guard finSequence == nil, !finQueued else { return }
        queue.append(segment)
        queuedPayloadBytes += segment.payload.count
        if segment.isFin { finQueued = true }
        clientNext = segment.end
    }

    /// How long the target must have been quiet after answering for its answer to count as
    /// complete (`RequestGate`): two round trips, capped.
    private var responseQuietTime: Int64 { roundTrip.quietTime(maximum: tuning.responseQuietMilliseconds) }

    /// Sends whatever the gate, the target's window and the close rules allow.
    private mutating func pump(now: MonotonicTime, actions: inout [SessionAction]) {
        guard state == .established || state == .closeWait else { return }
        if state == .closeWait, queuedPayloadBytes > 0 {
            return handOver(.completed, now: now, actions: &actions)
        }
        while let segment = queue.first {
            let everythingAcked = targetAcked == sendNext
            guard
                gate.allows(
                    clientAck: segment.clientAck, everythingAcked: everythingAcked,
                    quietMilliseconds: responseQuietTime,
                    now: now, tuning: tuning, closing: segment.isFin && segment.payload.isEmpty)
            else { break }
            // The FIN waits until the target has acknowledged every byte before it.
            if segment.isFin && targetAcked != segment.sequence { break }
            let inFlightBytes = sendNext - targetAcked
            let sendWindow = min(targetWindow, tuning.maximumInFlightBytes)
            if inFlightBytes > 0 && inFlightBytes + segment.payload.count > sendWindow { break }
            queue.removeFirst()
            queuedPayloadBytes -= segment.payload.count
            gate.release(clientAck: segment.clientAck, now: now)
            transmit(segment, actions: &actions)
            inFlight.append(segment)
            sendNext = segment.end
            if retransmitDeadline == nil { startRetransmitTimer(now: now) }
            if roundTripProbe == nil { roundTripProbe = (segment.end, now) }
            if segment.isFin {
                finSequence = segment.end + (-1)
                state = state == .established ? .finWait1 : .lastAck
            }
        }
        if resetPending && queue.isEmpty && targetAcked == sendNext {
            sendReset(actions: &actions)
            finish(.clientReset, actions: &actions)
        }
    }

    /// Sends one segment, split to the target's MSS (a capture host's GRO hands us packets far
    /// above the MTU).
    private mutating func transmit(_ segment: PendingSegment, actions: inout [SessionAction]) {
        // The MSS counts payload only when no options are sent: our options come out of it
        // (RFC 6691), as they come out of the MTU.
        let optionBytes = timestampsEnabled ? 12 : 0
        let limit = max(1, min(targetMSS, tuning.mtu - 40) - optionBytes)
        var offset = segment.payload.startIndex
        repeat {
            let end = min(offset + limit, segment.payload.endIndex)
            let isLast = end == segment.payload.endIndex
            var flags: TCPFlags = .ack
            if isLast && !segment.payload.isEmpty { flags.insert(.psh) }
            if isLast && segment.isFin { flags.insert(.fin) }
            let sequence = segment.sequence + (offset - segment.payload.startIndex)
            send(outgoing(sequence, flags, segment.payload[offset..<end]), actions: &actions)
            offset = end
        } while offset < segment.payload.endIndex
    }

    /// The rest of the client's stream moves to a new connection and this one is released
    /// (RST). Two reasons: the target closed its side (a keep-alive timeout, a request limit) yet
    /// the client sends more, which the target would answer with RST (`completed`: this
    /// connection did all it could); or the capture lost client bytes and the stream cannot go on
    /// here (`captureGap`).
    private mutating func handOver(
        _ outcome: SessionOutcome, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        var stream = Array(queue) + outOfOrder
        stream.removeAll { $0.sequence < sendNext && $0.end <= sendNext }
        sendReset(actions: &actions)
        let key = self.key
        let timestamp = clientTimestamp
        finish(outcome, actions: &actions)
        actions.append(.reopen(key, stream: ClientStream(segments: stream), timestamp: timestamp))
    }

    // MARK: - The target's side

    private mutating func learnHandshake(from synAck: TCPPacket) {
        targetNext = synAck.sequence + 1
        targetAcked = clientISN + 1
        timestampsEnabled = synOptions.timestamp != nil && synAck.options.timestamp != nil
        targetTimestamp = synAck.options.timestamp?.value ?? 0
        if synOptions.windowScale != nil, let scale = synAck.options.windowScale {
            targetWindowScale = min(scale, 14)
        }
        targetWindow = Int(synAck.window)  // a SYN's window is never scaled
        let mss = Int(synAck.options.maximumSegmentSize ?? 536)
        targetMSS = max(1, min(mss, tuning.mtu - 40))
        // Not capped by our MTU (`-M`): it limits what we send, not what the target sends us.
        let ourMSS = Int(synOptions.maximumSegmentSize ?? 536)
        targetSegmentSize = max(1, min(mss, ourMSS) - (timestampsEnabled ? 12 : 0))
    }

    private mutating func processAcknowledgment(
        _ header: TCPPacket, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        let ack = header.acknowledgment
        targetWindow = Int(header.window) << targetWindowScale
        if ack > targetAcked && ack <= sendNext {
            targetAcked = ack
            inFlight.removeFirst { $0.end <= ack }
            if !inFlight.isEmpty { inFlight[0].trimFront(to: ack) }
            duplicateAcks = 0
            if let probe = roundTripProbe, ack >= probe.end {
                roundTrip.add(sampleMilliseconds: now - probe.sentAt)
                roundTripProbe = nil
            }
            retransmitCount = 0
            retransmitInterval = currentRetransmitTimeout
            if inFlight.isEmpty { stopRetransmitTimer() } else { startRetransmitTimer(now: now) }
        } else if ack == targetAcked && !inFlight.isEmpty && header.payloadLength == 0
            && !header.flags.contains(.fin)
        {
            duplicateAcks += 1
            if duplicateAcks == 3 { resendFirstUnacknowledged(actions: &actions) }
        }
    }

    private mutating func advanceCloseState(now: MonotonicTime, actions: inout [SessionAction]) {
        let ourFinAcked = finSequence.map { targetAcked > $0 } ?? false
        switch state {
        case .established where targetFinReceived:
            state = .closeWait
        case .finWait1:
            if ourFinAcked && targetFinReceived {
                finishAfterTargetFin(actions: &actions)
            } else if ourFinAcked {
                state = .finWait2
                finWait2Since = now
            } else if targetFinReceived {
                state = .closing
            }
        case .finWait2 where targetFinReceived:
            finishAfterTargetFin(actions: &actions)
        case .closing, .lastAck:
            if ourFinAcked { finish(.completed, actions: &actions) }
        default:
            break
        }
    }

    /// The target's FIN was the last packet: our ACK of it (sent first, by `sendReset`) ends
    /// the target's LAST-ACK. We keep no TIME-WAIT, so a RST follows: if the ACK is lost, the RST
    /// still releases the target's socket, which would otherwise wait for an ACK that no one
    /// resends.
    private mutating func finishAfterTargetFin(actions: inout [SessionAction]) {
        sendReset(actions: &actions)
        finish(.completed, actions: &actions)
    }

    /// Our SYN was answered with a bare ACK that does not acknowledge it: the target still holds
    /// an older connection on this port (TIME_WAIT, typically left by an earlier copy: a previous
    /// tcpcopy run, or one whose port it did not know was cooling) and sent the challenge ACK
    /// of RFC 5961. A client's TCP answers it with a RST whose sequence is that ACK's
    /// acknowledgment (RFC 793, SYN-SENT), which ends the old connection, and its next SYN opens
    /// the new one; we send that SYN at once instead of a second later. Three times at most per
    /// session: a target that keeps answering so is left to the SYN retransmission timer.
    private mutating func staleConnectionReset(
        answering header: TCPPacket, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        guard header.flags.contains(.ack), header.acknowledgment != clientISN + 1,
            staleConnectionResets < Self.maximumStaleConnectionResets
        else { return }
        staleConnectionResets += 1
        // Without options: a timestamp older than the old connection's would fail its PAWS
        // check, and the RST would be ignored.
        var reset = outgoing(header.acknowledgment, .rst)
        reset.options = TCPOptions()
        send(reset, actions: &actions)
        send(synSegment(), actions: &actions)
    }

    private static let maximumStaleConnectionResets = 3

    // MARK: - Retransmission

    private mutating func retransmit(now: MonotonicTime, actions: inout [SessionAction]) {
        retransmitCount += 1
        if state == .synSent {
            guard retransmitCount <= tuning.maximumSynRetransmits else {
                return abort(.gaveUp, now: now, actions: &actions)
            }
            send(synSegment(), actions: &actions)
        } else {
            guard retransmitCount <= tuning.maximumRetransmits, !inFlight.isEmpty else {
                return abort(.gaveUp, now: now, actions: &actions)
            }
            resendFirstUnacknowledged(actions: &actions)
        }
        retransmitInterval = min(retransmitInterval * 2, tuning.maximumRetransmitMilliseconds)
        retransmitDeadline = now + retransmitInterval
    }

    private mutating func resendFirstUnacknowledged(actions: inout [SessionAction]) {
        guard let first = inFlight.first else { return }
        retransmissions += 1
        roundTripProbe = nil  // Karn: an ACK now could be for either copy
        transmit(first, actions: &actions)
    }

    private mutating func startRetransmitTimer(now: MonotonicTime) {
        retransmitDeadline = now + retransmitInterval
    }

    private mutating func stopRetransmitTimer() {
        retransmitDeadline = nil
        retransmitCount = 0
        retransmitInterval = currentRetransmitTimeout
    }

    private var currentRetransmitTimeout: Int64 {
        roundTrip.retransmitTimeout(
            initial: tuning.initialRetransmitMilliseconds, minimum: tuning.minimumRetransmitMilliseconds,
            maximum: tuning.maximumRetransmitMilliseconds)
    }

    private mutating func finish(_ outcome: SessionOutcome, actions: inout [SessionAction]) {
        // What the target sent must not go unacknowledged, or it would resend it to no one
        // until it gives up; unless it reset the connection itself.
        if outcome != .resetByTarget { sendPendingAcknowledgment(actions: &actions) }
        delayedAck = DelayedAck()
        state = .closed(outcome)
        queue.removeAll()
        queuedPayloadBytes = 0
        outOfOrder.removeAll()
        inFlight.removeAll()
        actions.append(.finished(key, outcome))
    }

    // MARK: - Segments we send

    /// Every segment goes out through here. One with the ACK flag acknowledges all we have
    /// received (its acknowledgment is `targetNext`), so no ACK is owed after it. (A RST's
    /// acknowledgment is not read by the target, RFC 793: `sendReset` sends what is owed first.)
    private mutating func send(_ segment: OutgoingSegment, actions: inout [SessionAction]) {
        if segment.flags.contains(.ack) { delayedAck.carried() }
        actions.append(.send(segment))
    }

    private mutating func acknowledgeIfDue(now: MonotonicTime, actions: inout [SessionAction]) {
        guard !isClosed, delayedAck.isDue(now: now) else { return }
        send(acknowledgment(), actions: &actions)
    }

    private mutating func sendPendingAcknowledgment(actions: inout [SessionAction]) {
        if delayedAck.isPending { send(acknowledgment(), actions: &actions) }
    }

    /// A RST releasing the target's socket, after the ACK we still owe it (the RST does not
    /// carry it): the target then knows its data, or its FIN, arrived.
    private mutating func sendReset(actions: inout [SessionAction]) {
        sendPendingAcknowledgment(actions: &actions)
        send(reset(), actions: &actions)
    }

    /// Our receive window: we acknowledge the target's data within the delayed-ACK time and
    /// keep none of it, so we never need it to slow down.
    private static let advertisedWindow: UInt16 = 65535

    private func timestampOption() -> TCPOptions.Timestamp? {
        guard timestampsEnabled else { return nil }
        return TCPOptions.Timestamp(value: clientTimestamp ?? 1, echoReply: targetTimestamp)
    }

    private func outgoing(
        _ sequence: SequenceNumber, _ flags: TCPFlags, _ payload: ArraySlice<UInt8> = []
    ) -> OutgoingSegment {
        OutgoingSegment(
            source: key.clientAddress, destination: key.targetAddress, sourcePort: key.clientPort,
            destinationPort: key.targetPort, sequence: sequence, acknowledgment: targetNext,
            flags: flags, window: Self.advertisedWindow,
            options: TCPOptions(timestamp: timestampOption()), payload: payload)
    }

    private func synSegment() -> OutgoingSegment {
        var segment = outgoing(clientISN, .syn)
        segment.options = synOptions
        return segment
    }

    private func acknowledgment() -> OutgoingSegment { outgoing(sendNext, .ack) }

    private func reset() -> OutgoingSegment {
        state == .synSent ? outgoing(clientISN + 1, .rst) : outgoing(sendNext, [.rst, .ack])
    }
}

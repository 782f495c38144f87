/// One client connection replayed against the target: tcpcopy plays the client's part of TCP.
///
/// The states are the client's TCP states (RFC 793 names); each carries the data only it has
/// (`Phase`, in EmulatedSession+States.swift). Events come from two sides: packets the client
/// sent to the online server (captured), and the headers of the target's responses (from
/// intercept). Each event is one `mutating func`, a `switch` on the state, that appends the
/// actions the caller must perform; the session itself does no I/O. The client's stream waits
/// in a `ReassemblyQueue` until the `RequestGate` and the target's window let it go; what went
/// waits in a `RetransmissionQueue` until the target acknowledges it; `TargetStream` keeps what
/// we know of the target's side, and `SegmentWriter` writes our segments.
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
/// rest of the stream to a new session on another port (`SessionAction.reopen`). A closed session
/// ignores late packets; an event a state cannot receive is a bug, caught in debug builds.
///
/// The target's data and FIN are acknowledged as a client's TCP with delayed ACKs does it
/// (`DelayedAck`): every segment we send acknowledges all we have received, so the ACK waits
/// up to `SessionTuning.delayedAckMilliseconds` for the next request or our FIN to carry it, and
/// goes bare only if nothing does. It goes at once when waiting would hurt the target: two full
/// segments unacknowledged, a segment it repeated (our ACK was lost), its FIN after ours (the
/// session ends), the end of the session. The handshake's ACK rides on the first request when one
/// is queued. A short `Connection: close` session thus sends SYN, request, FIN.
public struct EmulatedSession: Sendable {
    // Read by the extensions in other files (what the engine reads, the other starts); changed
    // only here.
    private(set) var phase: Phase
    /// Shared with the engine's other sessions (`SessionTuning.Shared`).
    private let sharedTuning: SessionTuning.Shared
    var tuning: SessionTuning { sharedTuning.value }
    private(set) var writer: SegmentWriter
    /// The client's stream, captured and waiting for the gate and the target's window.
    private(set) var captured: ReassemblyQueue
    private(set) var sent: RetransmissionQueue
    private(set) var gate: RequestGate
    private(set) var target = TargetStream()
    private(set) var lastActivity: MonotonicTime

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
        self.init(key: key, syn: syn, tuning: SessionTuning.Shared(tuning), now: now, actions: &actions)
    }

    /// Starts a session from the client's SYN with a tuning shared with other sessions.
    public init(
        key: RouteKey, syn: TCPPacket, tuning sharedTuning: SessionTuning.Shared, now: MonotonicTime,
        actions: inout [SessionAction]
    ) {
        self.sharedTuning = sharedTuning
        let tuning = sharedTuning.value
        phase = .synSent(since: now)
        writer = SegmentWriter(key: key, syn: syn)
        captured = ReassemblyQueue(next: syn.sequence + 1)
        sent = RetransmissionQueue(synSequence: syn.sequence, synTimeout: tuning.synRetransmitMilliseconds, now: now)
        gate = RequestGate(now: now)
        lastActivity = now
        actions.append(.register(key))
        send(writer.syn(target: target), actions: &actions)
    }

    /// For the starts that did not see the client's handshake: its ACK was `clientAck`, and
    /// `stream` was captured.
    mutating func takeOver(clientAck: SequenceNumber?, stream: [PendingSegment], now: MonotonicTime) {
        if let clientAck { gate.setBaseline(clientAck: clientAck) }
        for segment in stream {
            captured.accept(segment, now: now, maximumOutOfOrder: tuning.maximumOutOfOrderSegments)
        }
    }

    public var key: RouteKey { writer.key }

    // MARK: - Events

    /// A packet the client sent to the online server. `payload` is its TCP payload. The same in
    /// every live state: the state decides what is sent (`pump`).
    public mutating func clientSent(
        _ packet: TCPPacket, payload: ArraySlice<UInt8>, now: MonotonicTime,
        actions: inout [SessionAction]
    ) {
        guard !isClosed else { return }  // late packets of a connection that ended
        lastActivity = now
        writer.noteTimestamp(of: packet)
        if packet.flags.contains(.syn) { return }  // a retransmitted SYN: we time our own
        if packet.flags.contains(.ack) { gate.setBaseline(clientAck: packet.acknowledgment) }
        if packet.flags.contains(.rst) {
            captured.endsWithReset = true
        } else if !payload.isEmpty || packet.flags.contains(.fin) {
            let segment = PendingSegment(
                sequence: packet.sequence, payload: payload, isFin: packet.flags.contains(.fin),
                clientAck: packet.acknowledgment)
            captured.accept(segment, now: now, maximumOutOfOrder: tuning.maximumOutOfOrderSegments)
            if captured.queuedBytes > tuning.maximumQueuedBytes {
                return abort(.gaveUp, now: now, actions: &actions)
            }
        }
        pump(now: now, actions: &actions)
    }

    /// The headers of a packet the target sent to the client.
    public mutating func targetSent(
        _ header: TCPPacket, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        guard !isClosed else { return }  // late packets of a connection that ended
        lastActivity = now
        if header.flags.contains(.rst) {
            guard resetBelongsHere(header) else {
                strayResets += 1
                return
            }
            return finish(.resetByTarget, actions: &actions)
        }
        let isSYN = header.flags.contains(.syn)
        if isSYN {
            guard header.flags.contains(.ack), header.acknowledgment == writer.isn + 1 else { return }
        }
        switch phase {
        case .synSent(let since) where isSYN:
            sent.handshakeCompleted(now: now, synSentAt: since, tuning: tuning)
            target.learn(from: header, synOptions: writer.synOptions, mtu: tuning.mtu)
            phase = .established
            // Our ACK of the SYN-ACK completes the target's handshake, so it cannot wait: it rides
            // on the first request if one goes now, else goes bare.
            target.delayedAck.makeDue(now: now)
        case .synSent:
            return staleConnectionReset(answering: header, actions: &actions)
        case _ where isSYN:
            target.delayedAck.makeDue(now: now)
            // A repeated SYN-ACK: the segment that carried our ACK did not complete the
            // handshake (lost, or dropped by a full accept queue). The ACK must start again at
            // our first unacknowledged byte, on that segment resent. An ACK at the end of what we
            // sent would also do for a target that kept the half-open connection; but a target
            // whose SYN queue overflowed answers with SYN cookies and keeps nothing, and checks
            // the cookie against the ACK's sequence number less one: it resets an ACK past the
            // data it never got, and the session and its request are lost (seen where the
            // target's listen queue overflows; docs/performance-history.md).
            if !sent.segments.isEmpty { return resendFirstUnacknowledged(actions: &actions) }
        case .established, .finWait1, .finWait2, .closeWait, .closing, .lastAck:
            targetSegment(header, now: now, actions: &actions)
        case .closed:
            return assertionFailure("a target segment in \(phase)")
        }
        pump(now: now, actions: &actions)
        acknowledgeIfDue(now: now, actions: &actions)
    }

    /// Timers: retransmissions, held requests whose wait ran out, delayed ACKs, idle and close
    /// timeouts.
    public mutating func tick(now: MonotonicTime, actions: inout [SessionAction]) {
        guard !isClosed else { return }
        if now - lastActivity >= tuning.idleTimeoutMilliseconds {
            return abort(.timedOut, now: now, actions: &actions)
        }
        switch phase {
        case .established:
            if let limit = tuning.keepAliveTimeoutMilliseconds, !hasShortTimer, now - lastActivity >= limit {
                return abort(.keepAliveTimedOut, now: now, actions: &actions)
            }
        case .finWait2(_, let since) where now - since >= tuning.finWait2Milliseconds:
            // Everything we had was delivered and acknowledged: the session did its job.
            sendReset(actions: &actions)
            return finish(.completed, actions: &actions)
        case .synSent, .finWait1, .finWait2, .closeWait, .closing, .lastAck, .closed:
            break
        }
        if let deadline = sent.deadline, now >= deadline {
            retransmit(now: now, actions: &actions)
            if isClosed { return }
        }
        if let since = captured.gapSince, now - since >= tuning.captureGapMilliseconds, captured.isEmpty,
            sent.segments.isEmpty, phase.sendsClientData
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

    /// How long the target must have been quiet after answering for its answer to count as
    /// complete (`RequestGate`): two round trips, capped.
    var responseQuietTime: Int64 { sent.roundTrip.quietTime(maximum: tuning.responseQuietMilliseconds) }

    /// Sends whatever the gate, the target's window and the close rules allow.
    private mutating func pump(now: MonotonicTime, actions: inout [SessionAction]) {
        switch phase {
        case .closeWait where captured.readyBytes > 0:
            handOver(.completed, now: now, actions: &actions)
        case .established, .closeWait:
            sendQueued(now: now, actions: &actions)
        case .synSent, .finWait1, .finWait2, .closing, .lastAck, .closed:
            break
        }
    }

    private mutating func sendQueued(now: MonotonicTime, actions: inout [SessionAction]) {
        while let segment = captured.first {
            guard
                gate.allows(
                    clientAck: segment.clientAck, everythingAcked: sent.everythingAcknowledged,
                    quietMilliseconds: responseQuietTime,
                    now: now, tuning: tuning, closing: segment.isFin && segment.payload.isEmpty)
            else { break }
            // The FIN waits until the target has acknowledged every byte before it.
            if segment.isFin && sent.acknowledged != segment.sequence { break }
            let inFlightBytes = sent.bytesInFlight
            let sendWindow = min(target.window, tuning.maximumInFlightBytes)
            if inFlightBytes > 0 && inFlightBytes + segment.payload.count > sendWindow { break }
            captured.removeFirst()
            gate.release(clientAck: segment.clientAck, now: now)
            transmit(segment, actions: &actions)
            sent.sent(segment, now: now)
            if segment.isFin { finSent(segment.end + (-1)) }
        }
        if captured.endsWithReset && captured.isEmpty && sent.everythingAcknowledged {
            sendReset(actions: &actions)
            finish(.clientReset, actions: &actions)
        }
    }

    private mutating func finSent(_ fin: SequenceNumber) {
        switch phase {
        case .established: phase = .finWait1(fin: fin)
        case .closeWait: phase = .lastAck(fin: fin)
        case .synSent, .finWait1, .finWait2, .closing, .lastAck, .closed:
            assertionFailure("the client's FIN sent in \(phase)")
        }
    }

    /// The rest of the client's stream moves to a new connection and this one is released
    /// (RST). Two reasons: the target closed its side (a keep-alive timeout, a request limit) yet
    /// the client sends more, which the target would answer with RST (`completed`: this
    /// connection did all it could); or the capture lost client bytes and the stream cannot go on
    /// here (`captureGap`).
    private mutating func handOver(
        _ outcome: SessionOutcome, now: MonotonicTime, actions: inout [SessionAction]
    ) {
        let stream = captured.unsent(from: sent.next)
        sendReset(actions: &actions)
        let key = self.key
        let timestamp = writer.clientTimestamp
        finish(outcome, actions: &actions)
        actions.append(.reopen(key, stream: ClientStream(segments: stream), timestamp: timestamp))
    }
}

// MARK: - The target's side

extension EmulatedSession {
    /// A segment of the target's after the handshake: its acknowledgment, its data, its FIN.
    private mutating func targetSegment(_ header: TCPPacket, now: MonotonicTime, actions: inout [SessionAction]) {
        target.update(from: header)
        if header.flags.contains(.ack) {
            let isBare = header.payloadLength == 0 && !header.flags.contains(.fin)
            if sent.acknowledge(header.acknowledgment, isBare: isBare, now: now, tuning: tuning) {
                resendFirstUnacknowledged(actions: &actions)
            }
        }
        let isFin = header.flags.contains(.fin)
        let finArrived = isFin && !phase.targetFinReceived
        if header.payloadLength > 0 || isFin {
            let ourFin = phase.ourFin
            let count = target.received(
                header, afterOurFin: ourFin != nil, now: now, delay: tuning.delayedAckMilliseconds)
            if count > 0 { gate.noteAnswer(count, pushed: header.flags.contains(.psh) || isFin, now: now) }
            if finArrived {
                let ackedOurFin = ourFin.map { header.flags.contains(.ack) && header.acknowledgment > $0 }
                targetHoldsTimeWait = ackedOurFin != true
            }
        }
        advanceCloseState(targetFin: finArrived, now: now, actions: &actions)
    }

    /// The close transitions the target's segment made: `targetFin`, its FIN arrived in it; our
    /// FIN is acknowledged once `sent.acknowledged` is past it.
    private mutating func advanceCloseState(targetFin: Bool, now: MonotonicTime, actions: inout [SessionAction]) {
        switch phase {
        case .established:
            if targetFin { phase = .closeWait }
        case .finWait1(let fin):
            let ourFinAcked = sent.acknowledged > fin
            if ourFinAcked && targetFin {
                finishAfterTargetFin(actions: &actions)
            } else if ourFinAcked {
                phase = .finWait2(fin: fin, since: now)
            } else if targetFin {
                phase = .closing(fin: fin)
            }
        case .finWait2:
            if targetFin { finishAfterTargetFin(actions: &actions) }
        case .closing(let fin), .lastAck(let fin):
            if sent.acknowledged > fin { finish(.completed, actions: &actions) }
        case .closeWait:
            break
        case .synSent, .closed:
            assertionFailure("a close transition in \(phase)")
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
        if case .synSent = phase {
            return reset.flags.contains(.ack) && reset.acknowledgment == writer.isn + 1
        }
        return target.admitsReset(at: reset.sequence)
    }

    /// Our SYN was answered with a bare ACK that does not acknowledge it: the target still holds
    /// an older connection on this port (TIME_WAIT, typically left by an earlier copy: a previous
    /// tcpcopy run, or one whose port it did not know was cooling) and sent the challenge ACK
    /// of RFC 5961. A client's TCP answers it with a RST whose sequence is that ACK's
    /// acknowledgment (RFC 793, SYN-SENT), which ends the old connection, and its next SYN opens
    /// the new one; we send that SYN at once instead of a second later. Three times at most per
    /// session: a target that keeps answering so is left to the SYN retransmission timer.
    private mutating func staleConnectionReset(answering header: TCPPacket, actions: inout [SessionAction]) {
        guard header.flags.contains(.ack), header.acknowledgment != writer.isn + 1,
            staleConnectionResets < Self.maximumStaleConnectionResets
        else { return }
        staleConnectionResets += 1
        // Without options: a timestamp older than the old connection's would fail its PAWS
        // check, and the RST would be ignored.
        var reset = outgoing(header.acknowledgment, .rst)
        reset.options = TCPOptions()
        send(reset, actions: &actions)
        send(writer.syn(target: target), actions: &actions)
    }

    private static let maximumStaleConnectionResets = 3

    // MARK: - Retransmission

    /// The retransmission timer ran out: the SYN, or the first unacknowledged segment, goes again,
    /// unless the target has ignored it too often.
    private mutating func retransmit(now: MonotonicTime, actions: inout [SessionAction]) {
        let maximum = tuning.maximumRetransmitMilliseconds
        switch phase {
        case .synSent:
            guard sent.expire(now: now, limit: tuning.maximumSynRetransmits, maximum: maximum) else {
                return abort(.gaveUp, now: now, actions: &actions)
            }
            send(writer.syn(target: target), actions: &actions)
        case .established, .finWait1, .finWait2, .closeWait, .closing, .lastAck:
            guard sent.expire(now: now, limit: tuning.maximumRetransmits, maximum: maximum),
                let first = sent.resend()
            else { return abort(.gaveUp, now: now, actions: &actions) }
            transmit(first, actions: &actions)
        case .closed:
            assertionFailure("a retransmission in \(phase)")
        }
    }

    private mutating func resendFirstUnacknowledged(actions: inout [SessionAction]) {
        if let first = sent.resend() { transmit(first, actions: &actions) }
    }

    private mutating func finish(_ outcome: SessionOutcome, actions: inout [SessionAction]) {
        // What the target sent must not go unacknowledged, or it would resend it to no one
        // until it gives up; unless it reset the connection itself.
        if outcome != .resetByTarget { sendPendingAcknowledgment(actions: &actions) }
        target.delayedAck = DelayedAck()
        phase = .closed(outcome)
        captured.removeAll()
        sent.removeAll()
        actions.append(.finished(key, outcome))
    }

    // MARK: - Segments we send

    /// Every segment goes out through here. One with the ACK flag acknowledges all we have
    /// received (its acknowledgment is `target.next`), so no ACK is owed after it. (A RST's
    /// acknowledgment is not read by the target, RFC 793: `sendReset` sends what is owed first.)
    private mutating func send(_ segment: OutgoingSegment, actions: inout [SessionAction]) {
        if segment.flags.contains(.ack) { target.delayedAck.carried() }
        actions.append(.send(segment))
    }

    private mutating func acknowledgeIfDue(now: MonotonicTime, actions: inout [SessionAction]) {
        guard !isClosed, target.delayedAck.isDue(now: now) else { return }
        send(acknowledgment(), actions: &actions)
    }

    private mutating func sendPendingAcknowledgment(actions: inout [SessionAction]) {
        if target.delayedAck.isPending { send(acknowledgment(), actions: &actions) }
    }

    /// A RST releasing the target's socket, after the ACK we still owe it (the RST does not
    /// carry it): the target then knows its data, or its FIN, arrived.
    private mutating func sendReset(actions: inout [SessionAction]) {
        sendPendingAcknowledgment(actions: &actions)
        send(reset(), actions: &actions)
    }

    /// Sends one segment of the client's stream, split to what the target takes. Each piece
    /// carries the ACK flag, so no ACK is owed after them.
    private mutating func transmit(_ segment: PendingSegment, actions: inout [SessionAction]) {
        writer.split(segment, target: target, into: &actions)
        target.delayedAck.carried()
    }

    private func outgoing(_ sequence: SequenceNumber, _ flags: TCPFlags) -> OutgoingSegment {
        writer.segment(sequence, flags, target: target)
    }

    private func acknowledgment() -> OutgoingSegment { outgoing(sent.next, .ack) }

    private func reset() -> OutgoingSegment {
        if case .synSent = phase { return outgoing(writer.isn + 1, .rst) }
        return outgoing(sent.next, [.rst, .ack])
    }
}

import Testing

@testable import TCPCopyCore

/// A target that behaves like a TCP receiver: it keeps out-of-order data, acknowledges every
/// segment with its next expected byte, and closes when the client's FIN arrives.
private struct SimulatedTarget {
    let isn: UInt32
    var receiveNext: SequenceNumber?
    var received: [UInt8] = []
    var outOfOrder: [SequenceNumber: [UInt8]] = [:]
    var finAt: SequenceNumber?
    var gotFin = false
    var sentFin = false
    var sendNext: SequenceNumber
    /// Where each request ends in the client's stream, and how long the answer to it is.
    var requestEnds: [Int] = []
    var responseLengths: [Int] = []
    var answeredRequests = 0

    init(isn: UInt32) {
        self.isn = isn
        sendNext = SequenceNumber(isn) + 1
    }

    /// The response headers for one segment the session sent.
    mutating func receive(_ segment: OutgoingSegment) -> [ResponseHeader] {
        let responder = RespondingTarget()
        if segment.flags.contains(.syn) {
            receiveNext = segment.sequence + 1
            return [
                responder.header(
                    seq: isn, ack: receiveNext!.rawValue, [.syn, .ack], options: TCPOptions(maximumSegmentSize: 1000))
            ]
        }
        guard var next = receiveNext else { return [] }
        if segment.flags.contains(.rst) { return [] }
        if !segment.payload.isEmpty && segment.sequence >= next {
            outOfOrder[segment.sequence] = Array(segment.payload)
        } else if !segment.payload.isEmpty && segment.sequence + segment.payload.count > next {
            outOfOrder[next] = Array(segment.payload.dropFirst(next - segment.sequence))
        }
        if segment.flags.contains(.fin) { finAt = segment.sequence + segment.payload.count }
        var advanced = 0
        while let data = outOfOrder.removeValue(forKey: next) {
            received += data
            next += data.count
            advanced += data.count
        }
        // Drop pieces that are now behind us.
        for key in outOfOrder.keys where key < next { outOfOrder[key] = nil }
        if let finAt, finAt == next, !gotFin {
            gotFin = true
            next += 1
        }
        receiveNext = next
        var headers: [ResponseHeader] = []
        while advanced > 0, answeredRequests < requestEnds.count, received.count >= requestEnds[answeredRequests] {
            var remaining = responseLengths[answeredRequests]
            while remaining > 0 {
                let piece = min(remaining, 1448)
                // As Linux does: PSH on the last segment of a write only.
                let flags: TCPFlags = piece == remaining ? [.ack, .psh] : .ack
                headers.append(responder.header(seq: sendNext.rawValue, ack: next.rawValue, flags, length: piece))
                sendNext += piece
                remaining -= piece
            }
            answeredRequests += 1
        }
        if gotFin && !sentFin {
            sentFin = true
            headers.append(responder.header(seq: sendNext.rawValue, ack: next.rawValue, [.ack, .fin]))
            sendNext += 1
        } else if headers.isEmpty {
            headers.append(responder.header(seq: sendNext.rawValue, ack: next.rawValue, .ack))
        }
        return headers
    }
}

/// Whole sessions against the simulated target, with a lossy, reordering capture and a lossy
/// path in both directions. Whatever happens, the target must receive exactly the client's bytes.
@Suite struct EmulatedSessionSimulationTests {
    @Test(arguments: 0..<40)
    func targetReceivesExactlyTheClientsStream(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) &* 7919 &+ 17)
        // Half the runs start right below the wrap.
        let isn =
            seed % 2 == 0
            ? UInt32.max - UInt32.random(in: 0...5000, using: &generator)
            : UInt32.random(in: .min ... .max, using: &generator)
        let targetISN = UInt32.random(in: .min ... .max, using: &generator)
        let lossy = seed % 4 >= 2
        let stream = generator.bytes(Int.random(in: 1...40_000, using: &generator))
        let client = CapturedClient()
        let serverAck: UInt32 = 5001

        // The captured segments (the same ack on all: one pipelined burst), then the FIN.
        var captured: [[UInt8]] = [client.bytes(seq: isn &+ 1, ack: serverAck, .ack)]
        var offset = 0
        while offset < stream.count {
            let size = min(stream.count - offset, Int.random(in: 1...3000, using: &generator))
            captured.append(
                client.bytes(
                    seq: isn &+ 1 &+ UInt32(offset), ack: serverAck, [.ack, .psh],
                    payload: Array(stream[offset..<(offset + size)])))
            offset += size
        }
        captured.append(client.bytes(seq: isn &+ 1 &+ UInt32(stream.count), ack: serverAck, [.ack, .fin]))
        // Capture disorder: neighbours swapped, some packets seen twice.
        for index in captured.indices.dropLast() where Int.random(in: 0..<5, using: &generator) == 0 {
            captured.swapAt(index, index + 1)
        }
        for index in captured.indices.reversed() where Int.random(in: 0..<8, using: &generator) == 0 {
            captured.insert(captured[index], at: index)
        }

        var actions: [SessionAction] = []
        let syn = client.packet(seq: isn, .syn, options: TCPOptions(maximumSegmentSize: 1460))
        var session = EmulatedSession(
            key: Lab.key, syn: syn.packet, tuning: SessionTuning(), now: .zero, actions: &actions)
        var target = SimulatedTarget(isn: targetISN)
        var inTransit: [ResponseHeader] = []
        var now: Int64 = 0
        var outcome: SessionOutcome?
        var sentSegments = 0

        func deliver(_ actions: [SessionAction]) {
            for action in actions {
                switch action {
                case .register, .reopen: break
                case .send(let segment):
                    sentSegments += 1
                    #expect(segment.encodedLength <= 1500)
                    #expect(segment.payload.count <= 1000)
                    if lossy && Int.random(in: 0..<10, using: &generator) == 0 { continue }
                    inTransit += target.receive(segment)
                case .finished(_, let end):
                    #expect(outcome == nil, "finished twice")
                    outcome = end
                }
            }
        }
        deliver(actions)
        var nextCapture = 0
        while outcome == nil && now < 600_000 {
            now += 10
            var step: [SessionAction] = []
            if nextCapture < captured.count && Int.random(in: 0..<3, using: &generator) > 0 {
                let packet = try! TCPPacket.parse(captured[nextCapture], requirePayload: true).get()
                session.clientSent(
                    packet, payload: captured[nextCapture][packet.headerLength...],
                    now: MonotonicTime(milliseconds: now), actions: &step)
                nextCapture += 1
            }
            // Headers reach us in order, some lost.
            let arriving = inTransit
            inTransit = []
            for header in arriving where !(lossy && Int.random(in: 0..<10, using: &generator) == 0) {
                session.targetSent(header.packet, now: MonotonicTime(milliseconds: now), actions: &step)
            }
            session.tick(now: MonotonicTime(milliseconds: now), actions: &step)
            deliver(step)
        }
        #expect(target.received == stream, "seed \(seed): \(target.received.count) of \(stream.count) bytes")
        #expect(target.gotFin)
        #expect(outcome == .completed, "seed \(seed) ended \(String(describing: outcome)) at \(now) ms")
        #expect(session.bufferedBytes == 0)
    }

    /// Request, answer, request: each request waits for the answer to the one before, as the
    /// client waited for the online server. The online server's answers have the same lengths as
    /// the target's, so every request goes as soon as the answer before it is complete.
    @Test(arguments: 0..<30)
    func requestsWaitForAnswersAndAllArrive(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) &+ 0xC0FFEE)
        let isn = seed % 3 == 0 ? UInt32.max - 100 : UInt32.random(in: .min ... .max, using: &generator)
        let serverISN = seed % 3 == 1 ? UInt32.max - 50 : UInt32.random(in: .min ... .max, using: &generator)
        let client = CapturedClient()
        let requests = (0..<Int.random(in: 1...12, using: &generator)).map { _ in
            generator.bytes(Int.random(in: 1...4000, using: &generator))
        }
        let responses = requests.map { _ in Int.random(in: 1...20_000, using: &generator) }

        var target = SimulatedTarget(isn: UInt32.random(in: .min ... .max, using: &generator))
        var end = 0
        for request in requests {
            end += request.count
            target.requestEnds.append(end)
        }
        target.responseLengths = responses

        // The capture: the client's handshake ACK, each request (its ack counting every answer
        // before it, split into pieces), and the FIN after the last answer.
        var captured: [[UInt8]] = [client.bytes(seq: isn &+ 1, ack: serverISN &+ 1, .ack)]
        var seq = isn &+ 1
        var ack = serverISN &+ 1
        for (request, response) in zip(requests, responses) {
            var offset = 0
            while offset < request.count {
                let size = min(request.count - offset, Int.random(in: 1...1448, using: &generator))
                captured.append(
                    client.bytes(
                        seq: seq &+ UInt32(offset), ack: ack, [.ack, .psh],
                        payload: Array(request[offset..<(offset + size)])))
                offset += size
            }
            seq = seq &+ UInt32(request.count)
            ack = ack &+ UInt32(response)
        }
        captured.append(client.bytes(seq: seq, ack: ack, [.ack, .fin]))

        var actions: [SessionAction] = []
        let syn = client.packet(seq: isn, .syn, options: TCPOptions(maximumSegmentSize: 1460))
        var session = EmulatedSession(
            key: Lab.key, syn: syn.packet, tuning: SessionTuning(), now: .zero, actions: &actions)
        var inTransit: [ResponseHeader] = []
        var outcome: SessionOutcome?
        var earlyRequests = 0
        // Response bytes whose headers the session has seen, and where each answer ends.
        var seenAnswerBytes = 0
        var answerEnds: [Int] = []
        for response in responses { answerEnds.append((answerEnds.last ?? 0) + response) }
        func deliver(_ actions: [SessionAction]) {
            for action in actions {
                switch action {
                case .register, .reopen: break
                case .send(let segment):
                    if !segment.payload.isEmpty {
                        // The request this segment belongs to must not go before the target
                        // answered every request before it.
                        let offset = segment.sequence - SequenceNumber(isn &+ 1)
                        let request = target.requestEnds.firstIndex { $0 > offset }!
                        let seenAnswers = answerEnds.prefix { $0 <= seenAnswerBytes }.count
                        if seenAnswers < request { earlyRequests += 1 }
                    }
                    inTransit += target.receive(segment)
                case .finished(_, let end): outcome = end
                }
            }
        }
        deliver(actions)
        var now: Int64 = 0
        var nextCapture = 0
        while outcome == nil && now < 120_000 {
            now += 5
            var step: [SessionAction] = []
            // The capture runs ahead of the target: all of it arrives early.
            if nextCapture < captured.count {
                let packet = try! TCPPacket.parse(captured[nextCapture], requirePayload: true).get()
                session.clientSent(
                    packet, payload: captured[nextCapture][packet.headerLength...],
                    now: MonotonicTime(milliseconds: now), actions: &step)
                nextCapture += 1
            }
            if now % 20 == 0 {
                let arriving = inTransit
                inTransit = []
                for header in arriving {
                    seenAnswerBytes += header.packet.payloadLength
                    session.targetSent(header.packet, now: MonotonicTime(milliseconds: now), actions: &step)
                }
            }
            session.tick(now: MonotonicTime(milliseconds: now), actions: &step)
            deliver(step)
        }
        #expect(target.received == requests.flatMap { $0 }, "seed \(seed)")
        #expect(target.answeredRequests == requests.count)
        #expect(earlyRequests == 0)
        #expect(outcome == .completed, "seed \(seed) ended \(String(describing: outcome)) at \(now) ms")
        // Nothing of request k+1 went before the target had answered request k in full: the
        // quiet and maximum-wait rules never had to fire here.
        #expect(now < 10_000, "seed \(seed) took \(now) ms")
    }
}

/// A short HTTP connection (`Connection: close`): the target answers in one segment and closes
/// in another, as nginx does on a LAN. What we send for it is what the target's TCP must handle.
@Suite struct EmulatedSessionShortSessionTests {
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    /// Plays one session, ticking every millisecond, and returns the segments sent. The request
    /// is captured at 1 ms; the SYN-ACK arrives at `synAckAt`; the target's FIN follows its
    /// answer by 1 ms, and the client's FIN is captured `clientFinDelay` ms after that.
    func play(synAckAt: Int64, clientFinDelay: Int64) -> [OutgoingSegment] {
        var driver = SessionDriver()
        var sent = driver.started.sent
        var now: Int64 = 0
        func run(until end: Int64) {
            while now < end {
                now += 1
                sent += driver.tick(at: now).sent
            }
        }
        var events: [(at: Int64, event: (inout SessionDriver, Int64) -> [SessionAction])] = [
            (1, { $0.client(seq: c, ack: s, at: $1) }),
            (1, { $0.client(seq: c, ack: s, [.ack, .psh], payload: request(100), at: $1) }),
            (synAckAt, { $0.synAck(at: $1) }),
        ]
        let answerAt = max(synAckAt, 1) + 1
        events += [
            (answerAt, { $0.target(seq: t, ack: c + 100, [.ack, .psh], length: 500, at: $1) }),
            (answerAt + 1, { $0.target(seq: t + 500, ack: c + 100, [.ack, .fin], at: $1) }),
            (answerAt + 1 + clientFinDelay, { $0.client(seq: c + 100, ack: s + 501, [.ack, .fin], at: $1) }),
            (answerAt + 2 + clientFinDelay, { $0.target(seq: t + 501, ack: c + 101, at: $1) }),
        ]
        for (at, event) in events.sorted(by: { $0.at < $1.at }) {
            run(until: at - 1)
            now = max(now, at)
            sent += event(&driver, at).sent
        }
        #expect(driver.state == .closed(.completed))
        return sent
    }

    /// A client's TCP with delayed ACKs sends SYN, request (carrying the handshake's ACK), FIN
    /// (carrying the ACK of the answer and the target's FIN). With an ACK for every segment of
    /// the target's this was 6: SYN, ACK, request, ACK, ACK, FIN.
    @Test func aShortSessionSendsWhatAClientsTCPWould() {
        let flags = { (segments: [OutgoingSegment]) in segments.map(\.flags) }
        // The request is captured before the target's SYN-ACK arrives: it carries the ACK.
        let requestFirst = play(synAckAt: 2, clientFinDelay: 1)
        #expect(flags(requestFirst) == [.syn, [.ack, .psh], [.ack, .fin]])
        #expect(requestFirst.last?.acknowledgment == SequenceNumber(t + 501))
        // The SYN-ACK comes first: the handshake cannot wait for the request.
        let synAckFirst = play(synAckAt: 0, clientFinDelay: 1)
        #expect(flags(synAckFirst) == [.syn, .ack, [.ack, .psh], [.ack, .fin]])
        // The client closes later than the delay: one bare ACK for the answer and the FIN.
        let slowClientFin = play(synAckAt: 2, clientFinDelay: 100)
        #expect(flags(slowClientFin) == [.syn, [.ack, .psh], .ack, [.ack, .fin]])
        #expect(slowClientFin[2].acknowledgment == SequenceNumber(t + 501))
    }
}

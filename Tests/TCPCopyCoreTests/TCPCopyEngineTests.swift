import Testing

@testable import TCPCopyCore

@Suite struct TCPCopyEngineTests {
    static let route = CopyRoute(
        onlineAddress: nil, onlinePort: Lab.onlinePort, targetAddress: .v4(Lab.target), targetPort: Lab.targetPort)
    let client = CapturedClient()
    let c: UInt32 = 1001
    let s: UInt32 = 5001
    let t: UInt32 = 700_001

    func makeEngine(copies: Int = 1, maxSessions: Int = 65536, routes: [CopyRoute] = [route]) -> TCPCopyEngine {
        var configuration = TCPCopyConfiguration(routes: routes)
        configuration.copies = copies
        configuration.maxSessions = maxSessions
        return TCPCopyEngine(configuration: configuration, tuning: SessionTuning())
    }

    func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    func capture(_ engine: inout TCPCopyEngine, _ bytes: [UInt8], at ms: Int64 = 0) -> [EngineAction] {
        var actions: [EngineAction] = []
        engine.captured(bytes, now: at(ms), actions: &actions)
        return actions
    }

    func respond(_ engine: inout TCPCopyEngine, _ header: ResponseHeader, at ms: Int64 = 0) -> [EngineAction] {
        var actions: [EngineAction] = []
        engine.response(header, now: at(ms), actions: &actions)
        return actions
    }

    func tick(_ engine: inout TCPCopyEngine, at ms: Int64) -> [EngineAction] {
        var actions: [EngineAction] = []
        engine.tick(now: at(ms), actions: &actions)
        return actions
    }

    var syn: [UInt8] { client.bytes(seq: 1000, .syn, options: TCPOptions(maximumSegmentSize: 1460)) }

    func key(port: UInt16) -> RouteKey {
        RouteKey(clientAddress: .v4(Lab.client), clientPort: port, targetAddress: .v4(Lab.target), targetPort: Lab.targetPort)
    }

    func synAck(for key: RouteKey) -> ResponseHeader {
        RespondingTarget(key: key).header(
            seq: 700_000, ack: c, [.syn, .ack], options: TCPOptions(maximumSegmentSize: 1460))
    }

    @Test func synRegistersBeforeItIsSent() {
        var engine = makeEngine()
        let actions = capture(&engine, syn)
        #expect(
            actions == [
                .control(.register(Lab.key), target: .v4(Lab.target)),
                .send(toTarget(seq: 1000, ack: 0, .syn, options: TCPOptions(maximumSegmentSize: 1460))),
            ])
        #expect(engine.counters.captured == 1)
        #expect(engine.counters.sessionsStarted == 1)
        #expect(engine.sessionCount == 1)
    }

    @Test func threeCopiesUseThreeDistinctPortsOneOfThemTheOriginal() {
        var engine = makeEngine(copies: 3)
        let actions = capture(&engine, syn)
        #expect(actions.count == 6)
        var ports: [UInt16] = []
        for pair in stride(from: 0, to: actions.count, by: 2) {
            guard case .control(.register(let key), let target) = actions[pair],
                case .send(let segment) = actions[pair + 1]
            else {
                Issue.record("expected register then SYN, got \(actions[pair]), \(actions[pair + 1])")
                continue
            }
            #expect(target == Lab.target)
            #expect(segment.sourcePort == key.clientPort)
            #expect(
                segment.source == Lab.client && segment.destination == Lab.target
                    && segment.destinationPort == Lab.targetPort)
            #expect(segment.flags == .syn && segment.sequence == SequenceNumber(1000))
            ports.append(key.clientPort)
        }
        #expect(ports == [40000, 47919, 55838])
        #expect(Set(ports).count == 3)
        #expect(engine.sessionCount == 3)
        #expect(engine.counters.sessionsStarted == 3)

        // Each copy is its own session: the SYN-ACK of one establishes only that one.
        let answer = respond(&engine, synAck(for: key(port: 47919)), at: 5)
        #expect(answer.sent.map(\.sourcePort) == [47919])
        for port: UInt16 in [40000, 55838] { _ = respond(&engine, synAck(for: key(port: port)), at: 6) }
        // A captured request fans out to all three.
        let data = request(100)
        let sent = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: data), at: 7).sent
        #expect(Set(sent.map(\.sourcePort)) == [40000, 47919, 55838])
        #expect(sent.allSatisfy { $0.payload.elementsEqual(data) && $0.acknowledgment == SequenceNumber(t) })
    }

    @Test func copyPortsWrapBelowTheUnprivilegedRange() {
        var engine = makeEngine(copies: 2)
        var high = client
        high.port = 65000
        let actions = capture(&engine, high.bytes(seq: 1, .syn))
        // (65000 − 1024 + 7919) mod 64512 + 1024 = 8407
        #expect(actions.sent.map(\.sourcePort) == [65000, 8407])
    }

    @Test func portTakenByAnotherCopyMovesToTheNextFreePortNotShared() {
        var engine = makeEngine(copies: 2)
        _ = capture(&engine, syn)  // copies on 40000 and 47919
        var second = client
        second.port = 47919
        let actions = capture(&engine, second.bytes(seq: 9, .syn))
        // Its own port is taken by the first connection's copy: copy 0 moves to the next free
        // port; its second copy gets its preferred one. Nothing is shared, nothing is lost.
        #expect(engine.counters.portCollisions == 0)
        #expect(engine.counters.portsRelocated == 1)
        #expect(actions.sent.map(\.sourcePort) == [47920, 55838])
        #expect(engine.sessionCount == 4)
    }

    @Test func dataOfAnUnknownConnectionThatCannotStartCountsNoSession() {
        // Data of a connection opened before tcpcopy starts a session with a made-up handshake
        // (see TCPCopyEngineContinuityTests); when even that cannot start, the data is lost and
        // counted.
        var engine = makeEngine(maxSessions: 1)
        _ = capture(&engine, syn)
        var other = client
        other.port = 41000
        #expect(capture(&engine, other.bytes(seq: c, ack: s, [.ack, .psh], payload: request(10))).isEmpty)
        #expect(engine.counters.noSession == 1)
        #expect(engine.counters.tableFull == 1)
        #expect(engine.sessionCount == 1)
        // Its next data is lost too, but the table is not asked again (nor counted full again).
        _ = capture(&engine, other.bytes(seq: c + 10, ack: s, [.ack, .psh], payload: request(10)))
        #expect(engine.counters.noSession == 2)
        #expect(engine.counters.tableFull == 1)
        // A SYN-ACK is not a client's SYN either; without data it is a stray.
        #expect(capture(&engine, other.bytes(seq: 1, ack: 2, [.syn, .ack])).isEmpty)
        #expect(engine.counters.noSession == 2)
        #expect(engine.counters.strayControl == 1)
    }

    @Test func malformedCapturesAreCountedByReason() {
        var engine = makeEngine()
        var udp = syn
        udp[9] = 17
        var notIP = syn
        notIP[0] = 0x55
        let truncated = Array(client.bytes(seq: c, ack: s, .ack, payload: request(100)).prefix(100))
        for bytes in [[0x45, 0, 0, 0], udp, notIP, truncated, udp] {
            #expect(capture(&engine, bytes).isEmpty)
        }
        #expect(engine.counters.captured == 5)
        #expect(engine.counters.malformed == [.truncatedIPHeader: 1, .notTCP: 2, .notIPv4: 1, .truncatedPayload: 1])
        #expect(engine.sessionCount == 0)
        let line = engine.counters.line.text
        #expect(line.contains("malformed=5 malformed_truncated_ip_header=1 malformed_not_ipv4=1 malformed_not_tcp=2"))
        #expect(line.contains("malformed_truncated_payload=1 no_session=0"))
    }

    @Test func portsNotInTheRoutesCountOtherPort() {
        var engine = makeEngine()
        var ssh = client
        ssh.serverPort = 22
        #expect(capture(&engine, ssh.bytes(seq: 1, .syn)).isEmpty)
        #expect(capture(&engine, ssh.bytes(seq: 2, ack: 3, .ack)).isEmpty)
        #expect(engine.counters.otherPort == 2)
        #expect(engine.counters.noSession == 0)
        #expect(engine.sessionCount == 0)
    }

    @Test func routeForOneLocalAddressIgnoresOthers() {
        let bound = CopyRoute(onlineAddress: .v4(Lab.online), onlinePort: 80, targetAddress: .v4(Lab.target), targetPort: 8080)
        var engine = makeEngine(routes: [bound])
        var elsewhere = client
        elsewhere.server = IPv4Address(10, 0, 0, 99)
        #expect(capture(&engine, elsewhere.bytes(seq: 1, .syn)).isEmpty)
        #expect(engine.counters.otherPort == 1)
        #expect(capture(&engine, syn).count == 2)
    }

    @Test func oneCaptureFansOutToEveryRouteOfItsPort() {
        let second = IPv4Address(10, 0, 0, 3)
        let routes = [Self.route, CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v4(second), targetPort: 80)]
        var engine = makeEngine(routes: routes)
        #expect(engine.targets == [.v4(Lab.target), .v4(second)])
        #expect(engine.onlinePorts == [80])
        let actions = capture(&engine, syn)
        #expect(actions.sent.map(\.destination) == [Lab.target, second])
        #expect(actions.controls.count == 2)
        guard case .control(_, let firstTarget) = actions[0], case .control(_, let secondTarget) = actions[2] else {
            Issue.record("expected register, SYN, register, SYN: \(actions)")
            return
        }
        #expect([firstTarget, secondTarget] == [Lab.target, second])
    }

    @Test func retransmittedSYNStartsNothing() {
        var engine = makeEngine(copies: 2)
        _ = capture(&engine, syn)
        #expect(capture(&engine, syn, at: 1000).isEmpty)
        #expect(engine.counters.sessionsStarted == 2)
        #expect(engine.sessionCount == 2)
    }

    /// Finding F3: a client that reuses its port at once (the server closed first) must not cost
    /// the copy of the previous connection, which lags its original by a round trip at least.
    @Test func portReusedForANewConnectionLeavesTheOldCopyToFinish() {
        var engine = makeEngine()
        _ = capture(&engine, syn)
        _ = respond(&engine, synAck(for: Lab.key))
        let actions = capture(&engine, client.bytes(seq: 90_000, .syn), at: 10)
        // No RST for the old copy; the new connection's copy takes the next free port.
        #expect(
            actions == [
                .control(.register(key(port: 40001)), target: .v4(Lab.target)),
                .send(toTarget(seq: 90_000, ack: 0, .syn, port: 40001)),
            ])
        #expect(engine.counters.sessionsEnded.isEmpty)
        #expect(engine.counters.portsRelocated == 1)
        #expect(engine.sessionCount == 2)
        // The old copy still finishes its work: the target's answer is acknowledged (delayed).
        #expect(respond(&engine, RespondingTarget().header(seq: t, ack: c, .ack, length: 10), at: 11).isEmpty)
        #expect(tick(&engine, at: 51).sent.map(\.acknowledgment) == [SequenceNumber(t + 10)])
    }

    @Test func aHeldRequestMakesTheEngineAskForItsAnswerAtOnce() {
        var engine = makeEngine()
        _ = capture(&engine, syn)
        _ = respond(&engine, synAck(for: Lab.key), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: request(100)), at: 2)
        // The first request went out; nothing waits.
        #expect(!engine.requestsAwaitAnswers)
        // The client read 300 bytes of answer and asked again: held until the target answers.
        #expect(capture(&engine, client.bytes(seq: c + 100, ack: s + 300, [.ack, .psh], payload: request(50)), at: 3).sent.isEmpty)
        #expect(engine.requestsAwaitAnswers)
        // The answer releases it.
        let released = respond(&engine, RespondingTarget().header(seq: t, ack: c + 100, [.ack, .psh], length: 300), at: 4)
        #expect(released.sent.map(\.payload.count) == [50])
        #expect(!engine.requestsAwaitAnswers)
    }

    @Test func aSessionThatEndsHoldingARequestNoLongerCounts() {
        var engine = makeEngine()
        _ = capture(&engine, syn)
        _ = respond(&engine, synAck(for: Lab.key), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: request(100)), at: 2)
        _ = capture(&engine, client.bytes(seq: c + 100, ack: s + 300, [.ack, .psh], payload: request(50)), at: 3)
        #expect(engine.requestsAwaitAnswers)
        _ = respond(&engine, RespondingTarget().header(seq: t, ack: c + 100, .rst), at: 4)
        #expect(engine.sessionCount == 0)
        #expect(!engine.requestsAwaitAnswers)
    }

    @Test func completedSessionIsUnregisteredAndForgotten() {
        var engine = makeEngine()
        _ = capture(&engine, syn)
        // What a control link that comes back registers again.
        #expect(engine.registeredRoutes(of: .v4(Lab.target)) == [Lab.key])
        #expect(engine.registeredRoutes(of: .v4(IPv4Address(10, 9, 9, 9))).isEmpty)
        _ = capture(&engine, client.bytes(seq: c, ack: s, .ack))
        _ = respond(&engine, synAck(for: Lab.key), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: request(100)), at: 2)
        _ = respond(&engine, RespondingTarget().header(seq: t, ack: c + 100, [.ack, .fin], length: 300), at: 3)
        #expect(
            capture(&engine, client.bytes(seq: c + 100, ack: s + 301, [.ack, .fin]), at: 4).sent.map(\.flags) == [
                [.ack, .fin]
            ])
        let end = respond(&engine, RespondingTarget().header(seq: t + 301, ack: c + 101, .ack), at: 5)
        // The route lingers (finding F4) ...
        #expect(end.isEmpty)
        #expect(engine.sessionCount == 0)
        #expect(engine.counters.sessionsEnded == [.completed: 1])
        #expect(engine.counters.responses == 3)
        // ... so that a late packet of the target is answered with a RST it accepts ...
        let late = respond(&engine, RespondingTarget().header(seq: t + 300, ack: c + 101, [.ack, .fin]), at: 6)
        #expect(late.sent.map(\.flags) == [.rst])
        #expect(late.sent.first?.sequence == SequenceNumber(c + 101))
        #expect(engine.counters.lingerResets == 1)
        #expect(engine.counters.responsesUnmatched == 0)
        #expect(engine.registeredRoutes(of: .v4(Lab.target)) == [Lab.key])
        // ... and is unregistered a few seconds later.
        #expect(tick(&engine, at: 3010).controls == [.unregister(Lab.key)])
        #expect(engine.registeredRoutes(of: .v4(Lab.target)).isEmpty)
        #expect(respond(&engine, RespondingTarget().header(seq: t + 301, ack: c + 101, .ack), at: 3011).isEmpty)
        #expect(engine.counters.responsesUnmatched == 1)
        // And the client's last ACK belongs to no session any more: a stray, not a lost request.
        #expect(capture(&engine, client.bytes(seq: c + 101, ack: s + 302, .ack), at: 7).isEmpty)
        #expect(engine.counters.noSession == 0)
        #expect(engine.counters.strayControl == 1)
    }

    /// A client that opens a new connection from the port of one the target closed first (so
    /// the target holds it in TIME_WAIT for 60 s): copy 0 takes the port back, as the client's
    /// TCP did at the online server, and keeps it registered when the old route's lingering ends.
    @Test func clientsNewConnectionReclaimsItsPortFromTimeWait() {
        var engine = makeEngine()
        _ = capture(&engine, syn)
        _ = respond(&engine, synAck(for: Lab.key), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: request(100)), at: 2)
        _ = respond(&engine, RespondingTarget().header(seq: t, ack: c + 100, [.ack, .fin], length: 300), at: 3)
        _ = capture(&engine, client.bytes(seq: c + 100, ack: s + 301, [.ack, .fin]), at: 4)
        _ = respond(&engine, RespondingTarget().header(seq: t + 301, ack: c + 101, .ack), at: 5)
        #expect(engine.counters.sessionsEnded == [.completed: 1])

        let again = capture(&engine, client.bytes(seq: 90_000, .syn), at: 1000)
        #expect(
            again == [
                .control(.register(Lab.key), target: .v4(Lab.target)),
                .send(toTarget(seq: 90_000, ack: 0, .syn)),
            ])
        #expect(engine.counters.portsReclaimed == 1)
        #expect(engine.counters.portsRelocated == 0)
        // The old route's lingering would have ended at 3,005 ms: the new session's route stays.
        #expect(tick(&engine, at: 3010).controls.isEmpty)
    }

    @Test func responseForNoSessionIsCounted() {
        var engine = makeEngine()
        #expect(respond(&engine, synAck(for: Lab.key)).isEmpty)
        #expect(engine.counters.responses == 1)
        #expect(engine.counters.responsesUnmatched == 1)
    }

    @Test func fullTableRefusesNewSessions() {
        var engine = makeEngine(copies: 3, maxSessions: 5)
        #expect(capture(&engine, syn).count == 6)
        var other = client
        other.port = 40001
        #expect(capture(&engine, other.bytes(seq: 1, .syn)).isEmpty)
        #expect(engine.counters.tableFull == 1)
        #expect(engine.sessionCount == 3)
    }

    @Test func ticksDriveRetransmissionAndGivingUp() {
        var engine = makeEngine()
        _ = capture(&engine, syn)
        #expect(tick(&engine, at: 999).isEmpty)
        #expect(tick(&engine, at: 1000).sent.map(\.flags) == [.syn])
        var last: [EngineAction] = []
        var endedAt: Int64 = 0
        for ms in stride(from: Int64(1100), through: 30_000, by: 100) {
            last = tick(&engine, at: ms)
            if !last.sent.isEmpty && last.sent.allSatisfy({ $0.flags == .rst }) {
                endedAt = ms
                break
            }
        }
        #expect(last == [.send(toTarget(seq: c, ack: 0, .rst))])
        #expect(engine.counters.sessionsEnded == [.gaveUp: 1])
        #expect(engine.sessionCount == 0)
        #expect(tick(&engine, at: endedAt + 3000).controls == [.unregister(Lab.key)])
    }

    @Test func retransmissionsAreCountedWhenTheSessionEnds() {
        var engine = makeEngine()
        _ = capture(&engine, syn)
        _ = respond(&engine, synAck(for: Lab.key))
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: request(10)), at: 10)
        _ = tick(&engine, at: 310)
        _ = tick(&engine, at: 910)
        #expect(engine.counters.retransmissions == 0)
        _ = respond(&engine, RespondingTarget().header(seq: t, ack: c + 10, .rst), at: 1000)
        #expect(engine.counters.retransmissions == 2)
        #expect(engine.counters.sessionsEnded == [.resetByTarget: 1])
    }

    @Test func shutdownResetsEverySession() {
        var engine = makeEngine(copies: 2)
        _ = capture(&engine, syn)
        var actions: [EngineAction] = []
        engine.shutdown(now: at(5), actions: &actions)
        #expect(actions.sent.map(\.flags) == [.rst, .rst])
        #expect(Set(actions.controls) == [.unregister(key(port: 40000)), .unregister(key(port: 47919))])
        #expect(engine.sessionCount == 0)
        #expect(engine.counters.sessionsEnded == [.aborted: 2])
    }

    @Test func shutdownCountsWhatEachSessionWasWaitingFor() {
        // Two copies of one connection: the target answers one copy's SYN only.
        var engine = makeEngine(copies: 2)
        _ = capture(&engine, syn)
        _ = respond(&engine, synAck(for: Lab.key))
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: request(10)), at: 10)
        var actions: [EngineAction] = []
        engine.shutdown(now: at(20), actions: &actions)
        #expect(engine.counters.stoppedWaiting == [.handshake: 1, .acknowledgment: 1])
        let text = engine.counters.line.text
        #expect(text.contains("sessions_stopped_awaiting_handshake=1"))
        #expect(text.contains("sessions_stopped_awaiting_acknowledgment=1"))
        #expect(!text.contains("sessions_stopped_awaiting_answer"))
    }

    @Test func droppingOneTargetsSessionsLeavesTheOthers() {
        let second = IPv4Address(10, 0, 0, 3)
        var engine = makeEngine(routes: [
            Self.route, CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v4(second), targetPort: 80),
        ])
        _ = capture(&engine, syn)
        var actions: [EngineAction] = []
        engine.dropSessions(of: .v4(second), now: at(5), actions: &actions)
        #expect(actions.controls.count == 1)
        #expect(engine.sessionCount == 1)
        // The remaining session still gets the capture.
        _ = respond(&engine, synAck(for: Lab.key), at: 6)
        #expect(
            capture(&engine, client.bytes(seq: c, ack: s, .ack, payload: request(3)), at: 7).sent.map(\.destination)
                == [Lab.target])
    }
}

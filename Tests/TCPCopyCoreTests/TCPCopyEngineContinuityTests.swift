import Testing

@testable import TCPCopyCore

/// Connections tcpcopy did not see open (synthesised handshake), late packets of finished
/// ones, and connections the target closed while the client kept using them (reopen).
@Suite struct TCPCopyEngineContinuityTests {
    static let route = CopyRoute(
        onlineAddress: nil, onlinePort: Lab.onlinePort, targetAddress: .v4(Lab.target), targetPort: Lab.targetPort)
    let client = CapturedClient()
    let c: UInt32 = 50_001
    let s: UInt32 = 9_001
    let t: UInt32 = 700_001

    func makeEngine() -> TCPCopyEngine {
        var configuration = TCPCopyConfiguration(routes: [Self.route])
        configuration.synMSS = 1400
        return TCPCopyEngine(configuration: configuration, tuning: SessionTuning())
    }

    func capture(_ engine: inout TCPCopyEngine, _ bytes: [UInt8], at ms: Int64 = 0) -> [EngineAction] {
        var actions: [EngineAction] = []
        engine.captured(bytes, now: MonotonicTime(milliseconds: ms), actions: &actions)
        return actions
    }

    func respond(_ engine: inout TCPCopyEngine, _ header: ResponseHeader, at ms: Int64 = 0) -> [EngineAction] {
        var actions: [EngineAction] = []
        engine.response(header, now: MonotonicTime(milliseconds: ms), actions: &actions)
        return actions
    }

    func key(port: UInt16) -> RouteKey {
        RouteKey(clientAddress: .v4(Lab.client), clientPort: port, targetAddress: .v4(Lab.target), targetPort: Lab.targetPort)
    }

    @Test func dataOfAnUnseenConnectionStartsASynthesisedSession() {
        var engine = makeEngine()
        let request = [UInt8](repeating: 0x47, count: 100)
        let first = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: request))
        #expect(first.controls == [.register(key(port: Lab.clientPort))])
        let syn = first.sent
        #expect(syn.count == 1)
        #expect(syn.first?.flags == .syn)
        #expect(syn.first?.sequence == SequenceNumber(c - 1))
        #expect(syn.first?.options.maximumSegmentSize == 1400)
        #expect(engine.counters.sessionsSynthesized == 1)
        #expect(engine.counters.noSession == 0)
        // After the target's SYN-ACK the captured request goes out at once, carrying our ACK
        // of it (no bare ACK before it).
        let synAck = RespondingTarget(key: key(port: Lab.clientPort)).header(
            seq: t - 1, ack: c, [.syn, .ack], options: TCPOptions(maximumSegmentSize: 1460))
        let sent = respond(&engine, synAck, at: 1).sent
        #expect(sent.map(\.payload.count) == [100])
        #expect(sent.last?.sequence == SequenceNumber(c))
        #expect(sent.last?.acknowledgment == SequenceNumber(t))
    }

    @Test func pureAcksOfUnseenConnectionsStartNothing() {
        var engine = makeEngine()
        #expect(capture(&engine, client.bytes(seq: c, ack: s, .ack)).isEmpty)
        #expect(engine.counters.strayControl == 1)
        #expect(engine.sessionCount == 0)
    }

    /// Completes one short session: client request, target answer and FIN, client FIN.
    func completeOneSession(_ engine: inout TCPCopyEngine) {
        let target = RespondingTarget(key: key(port: Lab.clientPort))
        _ = capture(&engine, client.bytes(seq: c - 1, [.syn]))
        _ = respond(&engine, target.header(seq: t - 1, ack: c, [.syn, .ack]), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: [1, 2, 3]), at: 2)
        _ = respond(&engine, target.header(seq: t, ack: c + 3, [.ack, .psh, .fin], length: 10), at: 3)
        _ = capture(&engine, client.bytes(seq: c + 3, ack: s + 11, [.ack, .fin]), at: 4)
        _ = respond(&engine, target.header(seq: t + 11, ack: c + 4, .ack), at: 5)
    }

    @Test func lateDataOfAFinishedConnectionIsNotASessionAlreadyOpen() {
        var engine = makeEngine()
        completeOneSession(&engine)
        #expect(engine.counters.sessionsEnded[.completed] == 1)
        // A late retransmission of the request: no made-up handshake for it.
        #expect(capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: [1, 2, 3]), at: 6).isEmpty)
        #expect(engine.counters.lateData == 1)
        #expect(engine.counters.sessionsSynthesized == 0)
        // Once that memory has passed, data does open a session again.
        var actions: [EngineAction] = []
        engine.tick(now: MonotonicTime(milliseconds: 40_000), actions: &actions)
        let later = capture(&engine, client.bytes(seq: c + 4, ack: s + 11, [.ack, .psh], payload: [4]), at: 40_001)
        #expect(later.sent.first?.flags == .syn)
    }

    @Test func clientGoingOnAfterTheTargetClosedReopensOnANewPort() {
        var engine = makeEngine()
        let oldKey = key(port: Lab.clientPort)
        let target = RespondingTarget(key: oldKey)
        _ = capture(&engine, client.bytes(seq: c - 1, [.syn]))
        _ = respond(&engine, target.header(seq: t - 1, ack: c, [.syn, .ack]), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: [1, 2, 3]), at: 2)
        // The target answers and closes (its keep-alive limit); the online server did not.
        _ = respond(&engine, target.header(seq: t, ack: c + 3, [.ack, .psh, .fin], length: 10), at: 3)
        // The client sends its next request on the same connection.
        let next = [UInt8](repeating: 0x42, count: 20)
        let actions = capture(&engine, client.bytes(seq: c + 3, ack: s + 10, [.ack, .psh], payload: next), at: 4)
        // The old connection is released (our delayed ACK of the target's answer and FIN, then
        // a RST), a new one opens on another port from just before the request, and nothing of
        // the request reaches the closed connection.
        #expect(actions.sent.prefix(2).map(\.flags) == [.ack, [.rst, .ack]])
        #expect(actions.sent.first?.acknowledgment == SequenceNumber(t + 11))
        #expect(actions.sent.prefix(2).allSatisfy { $0.sourcePort == oldKey.clientPort })
        // The old route lingers a moment (late packets of the target get a RST), then goes.
        #expect(!actions.controls.contains(.unregister(oldKey)))
        let reopened = actions.sent.last!
        #expect(reopened.flags == .syn)
        #expect(reopened.sourcePort != oldKey.clientPort)
        #expect(reopened.sequence == SequenceNumber(c + 2))
        #expect(actions.controls.last == .register(key(port: reopened.sourcePort)))
        #expect(!actions.sent.contains { !$0.payload.isEmpty })
        #expect(engine.counters.sessionsReopened == 1)
        #expect(engine.counters.sessionsEnded[.completed] == 1)
        // The new connection's handshake releases the request.
        let newTarget = RespondingTarget(key: key(port: reopened.sourcePort))
        let sent = respond(&engine, newTarget.header(seq: 900_000, ack: c + 3, [.syn, .ack]), at: 5).sent
        #expect(sent.last?.payload.elementsEqual(next) == true)
        #expect(sent.last?.sequence == SequenceNumber(c + 3))
        #expect(sent.last?.acknowledgment == SequenceNumber(900_001))
    }

    @Test func keepAliveTimeoutReleasesAnIdleSessionAndTheClientsReturnReopens() {
        var configuration = TCPCopyConfiguration(routes: [Self.route])
        configuration.keepAliveTimeout = 5
        var engine = TCPCopyEngine(configuration: configuration, tuning: SessionTuning(configuration: configuration))
        let oldKey = key(port: Lab.clientPort)
        let target = RespondingTarget(key: oldKey)
        _ = capture(&engine, client.bytes(seq: c - 1, [.syn]))
        _ = respond(&engine, target.header(seq: t - 1, ack: c, [.syn, .ack]), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: [1, 2, 3]), at: 2)
        _ = respond(&engine, target.header(seq: t, ack: c + 3, [.ack, .psh], length: 10), at: 3)
        // Idle between requests: nothing happens before the limit but our delayed ACK, a RST at it.
        var actions: [EngineAction] = []
        engine.tick(now: MonotonicTime(milliseconds: 43), actions: &actions)
        #expect(actions.sent.map(\.flags) == [.ack])
        actions = []
        engine.tick(now: MonotonicTime(milliseconds: 4_000), actions: &actions)
        #expect(actions.isEmpty)
        engine.tick(now: MonotonicTime(milliseconds: 5_100), actions: &actions)
        #expect(actions.sent.map(\.flags) == [[.rst, .ack]])
        #expect(engine.counters.sessionsEnded[.keepAliveTimedOut] == 1)
        #expect(engine.sessionCount == 0)
        // The client comes back later on the same connection: a new session carries it.
        let back = capture(&engine, client.bytes(seq: c + 3, ack: s + 10, [.ack, .psh], payload: [4]), at: 9_000)
        #expect(back.sent.first?.flags == .syn)
        #expect(engine.counters.lateData == 0)
        #expect(engine.counters.sessionsSynthesized == 1)
    }

    /// The capture dropped one of the client's segments (a full raw-socket buffer under load).
    /// The session cannot send past the hole, so after a while the stream after it goes on in a
    /// new session, instead of the session stalling until its idle timeout.
    @Test func captureGapThatNeverFillsMovesTheRestToANewSession() {
        var engine = makeEngine()
        let oldKey = key(port: Lab.clientPort)
        let target = RespondingTarget(key: oldKey)
        _ = capture(&engine, client.bytes(seq: c - 1, [.syn]))
        _ = respond(&engine, target.header(seq: t - 1, ack: c, [.syn, .ack]), at: 1)
        _ = capture(&engine, client.bytes(seq: c, ack: s, [.ack, .psh], payload: [1, 2, 3]), at: 2)
        _ = respond(&engine, target.header(seq: t, ack: c + 3, [.ack, .psh], length: 10), at: 3)
        // Bytes c+3 ..< c+13 were never captured; the next request arrives after the hole.
        let after = [UInt8](repeating: 0x55, count: 7)
        #expect(capture(&engine, client.bytes(seq: c + 13, ack: s + 10, [.ack, .psh], payload: after), at: 4).isEmpty)
        var actions: [EngineAction] = []
        engine.tick(now: MonotonicTime(milliseconds: 43), actions: &actions)
        #expect(actions.sent.map(\.flags) == [.ack])  // our delayed ACK of the answer
        actions = []
        engine.tick(now: MonotonicTime(milliseconds: 1_900), actions: &actions)
        #expect(actions.isEmpty)
        engine.tick(now: MonotonicTime(milliseconds: 2_010), actions: &actions)
        #expect(actions.sent.first?.flags == [.rst, .ack])
        #expect(engine.counters.sessionsEnded[.captureGap] == 1)
        let reopened = actions.sent.last!
        #expect(reopened.flags == .syn)
        #expect(reopened.sequence == SequenceNumber(c + 12))
        #expect(reopened.sourcePort != oldKey.clientPort)
        let newTarget = RespondingTarget(key: key(port: reopened.sourcePort))
        let sent = respond(&engine, newTarget.header(seq: 900_000, ack: c + 13, [.syn, .ack]), at: 2_020).sent
        #expect(sent.last?.payload.elementsEqual(after) == true)
    }
}

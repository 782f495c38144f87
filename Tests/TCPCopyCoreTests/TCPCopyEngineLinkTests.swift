import Testing

@testable import TCPCopyCore

/// A target whose intercept link is down gets nothing but RSTs, and no session starts towards
/// it (`linkDown(of:now:actions:)`): without intercept reading the queue, whatever the target
/// answers may reach the real clients.
@Suite struct TCPCopyEngineLinkTests {
    static let second = IPv4Address(10, 0, 0, 3)
    let client = CapturedClient()

    func makeEngine() -> TCPCopyEngine {
        TCPCopyEngine(
            configuration: TCPCopyConfiguration(routes: [
                CopyRoute(
                    onlineAddress: nil, onlinePort: Lab.onlinePort, targetAddress: .v4(Lab.target),
                    targetPort: Lab.targetPort),
                CopyRoute(onlineAddress: nil, onlinePort: Lab.onlinePort, targetAddress: .v4(Self.second), targetPort: 80),
            ]),
            tuning: SessionTuning())
    }

    func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    func syn(port: UInt16) -> [UInt8] {
        var client = client
        client.port = port
        return client.bytes(seq: 1000, .syn, options: TCPOptions(maximumSegmentSize: 1460))
    }

    @Test func noSessionStartsTowardsATargetWithoutLink() {
        var engine = makeEngine()
        var actions: [EngineAction] = []
        engine.linkDown(of: .v4(Self.second), now: at(0), actions: &actions)
        #expect(actions.isEmpty)
        engine.captured(syn(port: 40000), now: at(1), actions: &actions)
        #expect(actions.sent.map(\.destination) == [Lab.target])
        #expect(!actions.contains { if case .control(_, Self.second) = $0 { true } else { false } })
        #expect(engine.counters.sessionsWithoutLink == 1)
        #expect(engine.counters.line.text.contains("sessions_without_link=1"))
        // Back up: the next connection is copied to both.
        engine.linkUp(of: .v4(Self.second))
        actions.removeAll()
        engine.captured(syn(port: 40001), now: at(2), actions: &actions)
        #expect(Set(actions.sent.map(\.destination)) == [Lab.target, Self.second])
    }

    @Test func sessionsInFlightStopAtOnceLeavingOnlyResets() {
        var engine = makeEngine()
        var actions: [EngineAction] = []
        engine.captured(syn(port: 40000), now: at(0), actions: &actions)
        #expect(engine.sessionCount == 2)
        actions.removeAll()
        engine.linkDown(of: .v4(Self.second), now: at(5), actions: &actions)
        #expect(engine.sessionCount == 1)
        #expect(actions.sent.allSatisfy { $0.destination != Self.second || $0.flags.contains(.rst) })
        // No retransmission of the SYN, however long the engine runs.
        actions.removeAll()
        for ms in stride(from: Int64(10), through: 10_000, by: 100) { engine.tick(now: at(ms), actions: &actions) }
        #expect(!actions.sent.contains { $0.destination == Self.second })
        // The client's data is not copied to it either.
        engine.captured(
            client.bytes(seq: 1001, ack: 5001, [.ack, .psh], payload: [1, 2, 3]), now: at(10_100), actions: &actions)
        #expect(!actions.sent.contains { $0.destination == Self.second })
    }
}

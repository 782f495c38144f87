import Testing

@testable import TCPCopyCore

/// `-r`, `-c` and `-f` at the engine: which sessions start, with which address and port.
@Suite struct TCPCopyEngineSelectionTests {
    static let route = CopyRoute(
        onlineAddress: nil, onlinePort: Lab.onlinePort, targetAddress: .v4(Lab.target), targetPort: Lab.targetPort)

    func makeEngine(_ change: (inout TCPCopyConfiguration) -> Void) -> TCPCopyEngine {
        var configuration = TCPCopyConfiguration(routes: [Self.route])
        change(&configuration)
        return TCPCopyEngine(configuration: configuration, tuning: SessionTuning())
    }

    func synFrom(port: UInt16) -> [UInt8] {
        var client = CapturedClient()
        client.port = port
        return client.bytes(seq: 1000, .syn)
    }

    func sent(_ actions: [EngineAction]) -> [OutgoingSegment] {
        actions.compactMap { if case .send(let segment) = $0 { segment } else { nil } }
    }

    @Test func rateCopiesWholeSessionsByHash() {
        var engine = makeEngine { $0.sessionRate = 30 }
        var started = 0
        for port in UInt16(40000)..<UInt16(41000) {
            var actions: [EngineAction] = []
            engine.captured(synFrom(port: port), now: .zero, actions: &actions)
            if !sent(actions).isEmpty { started += 1 }
        }
        #expect(abs(started - 300) <= 45)
        #expect(engine.counters.sessionsStarted == started)
        #expect(engine.counters.sessionsSkippedByRate == 1000 - started)
        // A later data packet of a skipped connection is neither copied nor counted as lost.
        let skipped = (UInt16(40000)..<UInt16(41000)).first {
            !SessionSampler(ratePercent: 30, clientAddresses: []).isCopied(address: .v4(Lab.client), port: $0)
        }!
        var client = CapturedClient()
        client.port = skipped
        var actions: [EngineAction] = []
        engine.captured(client.bytes(seq: 1001, ack: 1, [.ack, .psh], payload: [1, 2, 3]), now: .zero, actions: &actions)
        #expect(actions.isEmpty)
        #expect(engine.counters.noSession == 0)
    }

    @Test func clientAddressRewriteReachesEveryPacketAndRegistration() {
        let standIn = IPv4Address(10, 0, 9, 1)
        var engine = makeEngine { $0.clientAddresses = [.v4(standIn)] }
        var actions: [EngineAction] = []
        engine.captured(synFrom(port: 40000), now: .zero, actions: &actions)
        #expect(sent(actions).map(\.source) == [standIn])
        guard case .control(.register(let key), _) = actions.first else {
            Issue.record("no registration first: \(actions)")
            return
        }
        #expect(key.clientAddress == standIn && key.clientPort == 40000)
    }

    @Test func portShiftMovesEvenTheFirstCopyOffTheClientPort() {
        var engine = makeEngine { $0.portShift = 1 }
        var actions: [EngineAction] = []
        engine.captured(synFrom(port: 40000), now: .zero, actions: &actions)
        let expected = CopyPortAllocator.preferredPort(clientPort: 40000, copyNumber: 1000)
        #expect(sent(actions).map(\.sourcePort) == [expected])
        #expect(expected != 40000)
    }
}

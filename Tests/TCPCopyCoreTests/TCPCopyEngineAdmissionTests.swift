import Testing

@testable import TCPCopyCore

/// Admission and the buffer budget as the engine applies them: every new session is decided by
/// `SessionAdmission`, refusals are remembered (boundedly), and sessions over the byte budget
/// are shed and not started again from their next segment.
@Suite struct TCPCopyEngineAdmissionTests {
    static let route = CopyRoute(
        onlineAddress: nil, onlinePort: Lab.onlinePort, targetAddress: .v4(Lab.target), targetPort: Lab.targetPort)
    let c: UInt32 = 1001
    let s: UInt32 = 5001

    func makeEngine(maxSessions: Int = 65536, memoryMB: Int = 512, tuning: SessionTuning = SessionTuning())
        -> TCPCopyEngine
    {
        var configuration = TCPCopyConfiguration(routes: [Self.route])
        configuration.maxSessions = maxSessions
        configuration.memoryLimitMB = memoryMB
        return TCPCopyEngine(configuration: configuration, tuning: tuning)
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

    /// A client at a made-up address: a spoofed one, as a flood sends.
    func spoofed(_ n: Int) -> CapturedClient {
        var client = CapturedClient()
        client.address = IPv4Address(UInt32(0x0A64_0000) + UInt32(n / 50_000))
        client.port = UInt16(1024 + n % 50_000)
        return client
    }

    func dataSegment(from client: CapturedClient, seq: UInt32 = 77) -> [UInt8] {
        client.bytes(seq: seq, ack: 99, [.ack, .psh], payload: [0x41])
    }

    @Test func aFloodOfDataSegmentsTakesHalfTheTableAndRealSYNsStillStart() {
        var engine = makeEngine(maxSessions: 10)
        for n in 0..<100 { _ = capture(&engine, dataSegment(from: spoofed(n))) }
        #expect(engine.counters.sessionsSynthesized == 5)
        #expect(engine.sessionCount == 5)
        #expect(engine.counters.tableFull == 95)
        // Each refused connection is asked once: its next segment is only counted lost.
        _ = capture(&engine, dataSegment(from: spoofed(50), seq: 78))
        #expect(engine.counters.tableFull == 95)
        #expect(engine.counters.noSession == 96)
        let real = CapturedClient()
        #expect(!capture(&engine, real.bytes(seq: 1000, .syn)).sent.isEmpty)
        #expect(engine.sessionCount == 6)
    }

    @Test func synthesizedSessionsStopAtHalfTheMemoryCap() {
        var engine = makeEngine(memoryMB: 64)
        #expect(engine.memoryReading(residentBytes: 40 << 20) == .none)
        _ = capture(&engine, dataSegment(from: spoofed(1)))
        #expect(engine.counters.memoryFull == 1)
        #expect(engine.counters.sessionsSynthesized == 0)
        #expect(engine.sessionCount == 0)
        _ = capture(&engine, dataSegment(from: spoofed(1), seq: 78))
        #expect(engine.counters.memoryFull == 1)
        // A client's SYN may use the rest.
        _ = capture(&engine, CapturedClient().bytes(seq: 1000, .syn))
        #expect(engine.sessionCount == 1)
    }

    @Test func aSYNRefusedForMemoryIsNotStartedFromItsNextSegment() {
        var engine = makeEngine(memoryMB: 64)
        _ = capture(&engine, CapturedClient().bytes(seq: 1000, .syn))
        #expect(engine.memoryReading(residentBytes: 65 << 20) == .capReached(limit: 1))
        var other = CapturedClient()
        other.port = 41000
        #expect(capture(&engine, other.bytes(seq: 5000, .syn)).isEmpty)
        #expect(engine.counters.memoryFull == 1)
        #expect(capture(&engine, other.bytes(seq: 5001, ack: 9, [.ack, .psh], payload: request(10))).isEmpty)
        #expect(engine.counters.sessionsSynthesized == 0)
        #expect(engine.counters.noSession == 1)
        #expect(engine.counters.memoryFull == 1)
        #expect(engine.sessionCount == 1)
    }

    @Test func manyNewSessionsAskTheDaemonForAMemoryReading() {
        var engine = makeEngine()
        for n in 0..<(SessionAdmission.sessionsPerReading - 1) { _ = capture(&engine, dataSegment(from: spoofed(n))) }
        #expect(!engine.wantsMemoryReading)
        _ = capture(&engine, dataSegment(from: spoofed(1000)))
        #expect(engine.wantsMemoryReading)
        _ = engine.memoryReading(residentBytes: 1 << 20)
        #expect(!engine.wantsMemoryReading)
    }

    @Test func theRefusedTableIsBounded() {
        var engine = makeEngine(maxSessions: 1)
        let flood = TCPCopyEngine.refusedCapacity + 1000
        for n in 0..<flood { _ = capture(&engine, dataSegment(from: spoofed(n))) }
        #expect(engine.refusedCount == TCPCopyEngine.refusedCapacity)
        #expect(engine.counters.tableFull == flood)
        #expect(engine.sessionCount == 0)
    }

    /// An established session to a target that acknowledges nothing, the client uploading.
    func uploading(_ engine: inout TCPCopyEngine, segments: Int, size: Int) -> [EngineAction] {
        let client = CapturedClient()
        _ = capture(&engine, client.bytes(seq: 1000, .syn, options: TCPOptions(maximumSegmentSize: 1460)))
        _ = respond(
            &engine,
            RespondingTarget(key: Lab.key).header(
                seq: 700_000, ack: c, [.syn, .ack], options: TCPOptions(maximumSegmentSize: 1460)))
        var actions: [EngineAction] = []
        for i in 0..<segments {
            actions += capture(
                &engine, client.bytes(seq: c + UInt32(i * size), ack: s, [.ack], payload: request(size)), at: 1)
        }
        return actions
    }

    @Test func inFlightDataIsCappedWhateverTheTargetsWindow() {
        var tuning = SessionTuning()
        tuning.maximumInFlightBytes = 4000
        var engine = makeEngine(tuning: tuning)
        let sent = uploading(&engine, segments: 10, size: 1000).sent.filter { !$0.payload.isEmpty }
        #expect(sent.count == 4)
        #expect(engine.buffers.totalBytes == 10_000)
    }

    @Test func aSessionOverTheByteBudgetIsShedAndNotStartedAgain() {
        var engine = makeEngine(memoryMB: 1)  // a budget of 256 KiB
        let actions = uploading(&engine, segments: 300, size: 1000)
        #expect(engine.counters.sessionsEnded[.overBudget] == 1)
        #expect(actions.sent.last?.flags.contains(.rst) == true)
        #expect(engine.sessionCount == 0)
        #expect(engine.buffers.totalBytes == 0)
        let started = engine.counters.sessionsStarted
        let lost = engine.counters.noSession
        _ = capture(&engine, CapturedClient().bytes(seq: c + 300_000, ack: s, [.ack], payload: request(1000)), at: 2)
        #expect(engine.counters.sessionsStarted == started)
        #expect(engine.counters.sessionsSynthesized == 0)
        #expect(engine.counters.noSession > lost)
    }

    @Test func aBigHolderWhoseClientFinishedIsShedOnTheTick() {
        var engine = makeEngine(memoryMB: 1)  // a budget of 256 KiB
        _ = uploading(&engine, segments: 200, size: 1000)  // holds 200 KB: within the budget
        var other = CapturedClient()
        other.port = 41000
        let otherKey = RouteKey(
            clientAddress: .v4(Lab.client), clientPort: 41000, targetAddress: .v4(Lab.target), targetPort: Lab.targetPort)
        _ = capture(&engine, other.bytes(seq: 1000, .syn, options: TCPOptions(maximumSegmentSize: 1460)))
        _ = respond(
            &engine,
            RespondingTarget(key: otherKey).header(
                seq: 900_000, ack: c, [.syn, .ack], options: TCPOptions(maximumSegmentSize: 1460)))
        for i in 0..<100 {
            _ = capture(&engine, other.bytes(seq: c + UInt32(i * 1000), ack: s, [.ack], payload: request(1000)), at: 1)
        }
        // 300 KB in all; the second session holds less than its share (128 KiB) and stays.
        #expect(engine.counters.sessionsEnded[.overBudget] == nil)
        #expect(engine.buffers.totalBytes > engine.buffers.capacityBytes)
        var actions: [EngineAction] = []
        engine.tick(now: MonotonicTime(milliseconds: 20), actions: &actions)
        #expect(engine.counters.sessionsEnded[.overBudget] == 1)
        #expect(engine.sessionCount == 1)
        #expect(engine.buffers.totalBytes <= engine.buffers.capacityBytes)
    }

    @Test func withinTheByteBudgetNothingIsShed() {
        var engine = makeEngine(memoryMB: 2)
        _ = uploading(&engine, segments: 300, size: 1000)
        #expect(engine.counters.sessionsEnded[.overBudget] == nil)
        #expect(engine.sessionCount == 1)
    }
}

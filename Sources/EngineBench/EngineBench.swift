// A deterministic load for TCPCopyEngine, to count its instructions and allocations per packet
// under callgrind (Scripts/bench/engine.sh). Built only with TCPCOPY_BENCH=1.
//
// Short HTTP sessions (Connection: close) arrive at 3,000 a second of simulated time, 30 at a
// time; 70 s of them warm the engine up before the measured ones. Each one is five captured packets (SYN, the handshake ACK, a 120-byte request, the ACK of
// the 400-byte response, FIN) and five response headers from the target (SYN-ACK, the ACK of the
// request, the 400-byte response, its FIN, the ACK of our FIN), interleaved as a real run
// interleaves them; the engine ticks every 10 ms. Each response header reaches the engine through
// the control decoder, from the frame intercept would send, and every segment the engine sends is
// encoded into one reused buffer, as the daemon does.
//
// Packets and headers are built outside the measured functions (named `instrumented…`, which
// engine.sh's callgrind collects alone), so the figures are the engine's, the decoder's and the
// encoder's.
// Heap allocations are counted around the same calls when Scripts/bench/malloc-count.c is
// preloaded (it exports the counter this reads).
import Glibc
import TCPCopyCore

@main
struct EngineBench {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        // `reporter [SESSIONS [WARMUP]]`: intercept's AnswerReporter instead (ReporterBench.swift).
        if arguments.first == "reporter" { return ReporterBench.run(Array(arguments.dropFirst())) }
        let sessions = arguments.first.flatMap { Int($0) } ?? 20_000
        // 70 s of traffic first: long enough for every expiry (the target's TIME_WAIT holds a port
        // 60 s) to reach its steady state, where the tables stop growing.
        let warmUp = arguments.dropFirst().first.flatMap { Int($0) } ?? 210_000
        var bench = Replay()
        bench.run(sessions: 0..<warmUp, counting: false)
        let before = bench.tally
        bench.run(sessions: warmUp..<(warmUp + sessions), counting: true)
        let tally = bench.tally - before
        print(
            "sessions \(sessions) captured \(tally.captured) responses \(tally.responses) "
                + "packets \(tally.captured + tally.responses) sent \(tally.sent) completed \(tally.completed) "
                + "allocations \(AllocationCounter.isAvailable ? String(tally.allocations) : "unknown")")
        print(bench.engine.counters.line.text)
    }
}

/// What the measured run handled.
struct Tally {
    var captured = 0
    var responses = 0
    var sent = 0
    var completed = 0
    /// Heap allocations inside the measured calls.
    var allocations = 0

    static func - (lhs: Self, rhs: Self) -> Self {
        Tally(
            captured: lhs.captured - rhs.captured, responses: lhs.responses - rhs.responses,
            sent: lhs.sent - rhs.sent, completed: lhs.completed - rhs.completed,
            allocations: lhs.allocations - rhs.allocations)
    }
}

/// The allocation counter of malloc-count.c, when it is preloaded.
enum AllocationCounter {
    nonisolated(unsafe) static let counter = dlsym(nil, "enginebench_allocations")?.assumingMemoryBound(
        to: UInt.self)

    static var isAvailable: Bool { counter != nil }

    static var value: Int { counter.map { Int($0.pointee) } ?? 0 }
}

struct Replay {
    static let online = IPAddress.v4(IPv4Address(10, 0, 0, 1))
    static let target = IPAddress.v4(IPv4Address(10, 0, 0, 2))
    static let clientISN: UInt32 = 1000
    static let serverISN: UInt32 = 5000
    static let targetISN: UInt32 = 700_000
    static let requestLength = 120
    static let responseLength = 400
    /// Sessions that start together; at 3,000 sessions a second, one batch every 10 ms.
    static let batchSize = 30
    static let batchMilliseconds: Int64 = 10

    var engine: TCPCopyEngine
    var tally = Tally()
    private var actions: [EngineAction] = []
    private var packetBuffer: [UInt8] = []
    private var captureBuffer: [UInt8] = []
    private var frameBuffer: [UInt8] = []
    private var decoder = ControlDecoder()
    private var lastTick = MonotonicTime.zero
    /// The session the last SYN registered: its responses' addresses.
    private var lastRegistered: RouteKey?
    private let request = [UInt8](repeating: 0x47, count: Replay.requestLength)
    private let response = [UInt8](repeating: 0x48, count: Replay.responseLength)

    init() {
        var configuration = TCPCopyConfiguration(routes: [
            CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: Self.target, targetPort: 80)
        ])
        configuration.maxSessions = 65536
        engine = TCPCopyEngine(configuration: configuration, tuning: SessionTuning(configuration: configuration))
        actions.reserveCapacity(64)
        packetBuffer.reserveCapacity(2048)
        captureBuffer.reserveCapacity(2048)
    }

    /// Client `index`'s address and port: never the same pair within a run, so that no copy
    /// has to move to another port (the target holds each for 60 s of TIME_WAIT).
    static func client(_ index: Int) -> (IPAddress, UInt16) {
        (.v4(IPv4Address(0xC0A8_0000 | UInt32(index & 0xFF) + 1)), UInt16(10_000 + (index >> 8) % 55_000))
    }

    mutating func run(sessions: Range<Int>, counting: Bool) {
        var first = sessions.lowerBound
        while first < sessions.upperBound {
            let batch = first..<min(first + Self.batchSize, sessions.upperBound)
            let start = MonotonicTime(milliseconds: Int64(first / Self.batchSize) * Self.batchMilliseconds + 1)
            var keys: [RouteKey?] = Array(repeating: nil, count: batch.count)
            for phase in 0..<6 {
                let now = start + Int64(phase)
                if now - lastTick >= 10 {
                    lastTick = now
                    if counting {
                        let before = AllocationCounter.value
                        instrumentedTick(&engine, now: now, actions: &actions)
                        tally.allocations += AllocationCounter.value - before
                    } else {
                        engine.tick(now: now, actions: &actions)
                    }
                    perform(counting: counting)
                }
                for (slot, index) in batch.enumerated() {
                    step(phase, client: index, key: &keys[slot], now: now, counting: counting)
                }
            }
            first = batch.upperBound
        }
    }

    /// One session's packets of one phase.
    private mutating func step(
        _ phase: Int, client index: Int, key: inout RouteKey?, now: MonotonicTime, counting: Bool
    ) {
        let c = Self.clientISN
        let s = Self.serverISN
        let t = Self.targetISN
        let request = Self.requestLength
        let response = Self.responseLength
        let clock = UInt32(truncatingIfNeeded: now.milliseconds)
        switch phase {
        case 0:
            let options = TCPOptions(
                maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
                timestamp: .init(value: clock, echoReply: 0))
            lastRegistered = nil
            captured(index, seq: c, ack: 0, .syn, options: options, now: now, counting: counting)
            key = lastRegistered
        case 1:
            respond(
                key, seq: t, ack: c + 1, [.syn, .ack],
                options: TCPOptions(
                    maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
                    timestamp: .init(value: 90_000 + clock, echoReply: clock)),
                now: now, counting: counting)
            captured(index, seq: c + 1, ack: s + 1, .ack, now: now, counting: counting)
        case 2:
            captured(index, seq: c + 1, ack: s + 1, [.psh, .ack], payload: true, now: now, counting: counting)
        case 3:
            respond(key, seq: t + 1, ack: c + 1 + UInt32(request), .ack, now: now, counting: counting)
            respond(
                key, seq: t + 1, ack: c + 1 + UInt32(request), [.psh, .ack], length: response, now: now,
                counting: counting)
            respond(
                key, seq: t + 1 + UInt32(response), ack: c + 1 + UInt32(request), [.fin, .ack], now: now,
                counting: counting)
        case 4:
            let acked = s + 1 + UInt32(response)
            captured(index, seq: c + 1 + UInt32(request), ack: acked, .ack, now: now, counting: counting)
            captured(index, seq: c + 1 + UInt32(request), ack: acked + 1, [.fin, .ack], now: now, counting: counting)
        default:
            respond(
                key, seq: t + 2 + UInt32(response), ack: c + 2 + UInt32(request), .ack, now: now,
                counting: counting)
        }
    }

    private mutating func captured(
        _ index: Int, seq: UInt32, ack: UInt32, _ flags: TCPFlags, options: TCPOptions = TCPOptions(),
        payload: Bool = false, now: MonotonicTime, counting: Bool
    ) {
        let (address, port) = Self.client(index)
        let clock = UInt32(truncatingIfNeeded: now.milliseconds)
        let segment = OutgoingSegment(
            source: address, destination: Self.online, sourcePort: port, destinationPort: 80,
            sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack), flags: flags, window: 502,
            options: flags.contains(.syn) ? options : TCPOptions(timestamp: .init(value: clock, echoReply: clock)),
            payload: payload ? request[...] : [])
        let storage = captureBuffer.withUnsafeBufferPointer { $0.baseAddress }
        captureBuffer.removeAll(keepingCapacity: true)
        segment.encode(into: &captureBuffer)
        // The daemon reads every packet into one buffer: an engine that kept a slice of it would
        // make the next read copy the whole buffer.
        precondition(
            captureBuffer.withUnsafeBufferPointer { $0.baseAddress } == storage, "the engine kept the capture buffer")
        tally.captured += 1
        if counting {
            let before = AllocationCounter.value
            instrumentedCaptured(&engine, captureBuffer[...], now: now, actions: &actions)
            tally.allocations += AllocationCounter.value - before
        } else {
            engine.captured(captureBuffer[...], now: now, actions: &actions)
        }
        perform(counting: counting)
    }

    private mutating func respond(
        _ key: RouteKey?, seq: UInt32, ack: UInt32, _ flags: TCPFlags, length: Int = 0,
        options: TCPOptions? = nil, now: MonotonicTime, counting: Bool
    ) {
        guard let key else { return }
        let clock = UInt32(truncatingIfNeeded: now.milliseconds)
        let bytes = OutgoingSegment(
            source: key.targetAddress, destination: key.clientAddress, sourcePort: key.targetPort,
            destinationPort: key.clientPort, sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack),
            flags: flags, window: 509,
            options: options ?? TCPOptions(timestamp: .init(value: 90_000 + clock, echoReply: clock)),
            payload: response[..<length]
        ).encode()
        // As intercept sends it: the headers in a control frame, which the daemon decodes.
        let headerLength = ResponseHeader(packetPrefix: bytes)!.packet.headerLength
        frameBuffer.removeAll(keepingCapacity: true)
        bytes.withUnsafeBytes {
            ControlEncoder.encodeResponse(headers: UnsafeRawBufferPointer(rebasing: $0[..<headerLength]), into: &frameBuffer)
        }
        tally.responses += 1
        if counting {
            let before = AllocationCounter.value
            instrumentedResponse(&engine, &decoder, frameBuffer, now: now, actions: &actions)
            tally.allocations += AllocationCounter.value - before
        } else {
            decodeResponse(&engine, &decoder, frameBuffer, now: now, actions: &actions)
        }
        perform(counting: counting)
    }

    /// What the daemon does with the actions: encodes each segment into one reused buffer.
    private mutating func perform(counting: Bool) {
        for action in actions {
            if case .control(.register(let key), _) = action { lastRegistered = key }
            guard case .send(let segment) = action else { continue }
            tally.sent += 1
            if counting {
                let before = AllocationCounter.value
                instrumentedEncode(segment, into: &packetBuffer)
                tally.allocations += AllocationCounter.value - before
            } else {
                packetBuffer.removeAll(keepingCapacity: true)
                segment.encode(into: &packetBuffer)
            }
        }
        actions.removeAll(keepingCapacity: true)
        tally.completed = engine.counters.sessionsEnded[.completed, default: 0]
    }
}

// The functions callgrind collects (engine.sh: --toggle-collect='*instrumented*'). Not inlined, so
// that they exist as symbols whatever the optimiser does with the engine's inlinable code.

@inline(never)
func instrumentedCaptured(
    _ engine: inout TCPCopyEngine, _ bytes: ArraySlice<UInt8>, now: MonotonicTime, actions: inout [EngineAction]
) {
    engine.captured(bytes, now: now, actions: &actions)
}

@inline(never)
func instrumentedResponse(
    _ engine: inout TCPCopyEngine, _ decoder: inout ControlDecoder, _ frame: [UInt8], now: MonotonicTime,
    actions: inout [EngineAction]
) {
    decodeResponse(&engine, &decoder, frame, now: now, actions: &actions)
}

/// What the daemon does with a control frame from intercept: decodes it and hands the response
/// to the engine. Inlined, so that callgrind counts it inside `instrumentedResponse`.
@inline(__always)
func decodeResponse(
    _ engine: inout TCPCopyEngine, _ decoder: inout ControlDecoder, _ frame: [UInt8], now: MonotonicTime,
    actions: inout [EngineAction]
) {
    decoder.append(frame)
    // As the daemon reads them (`ControlConnection.read(handling:)`).
    if case .response(let packet)? = try! decoder.nextEvent() { engine.response(packet, now: now, actions: &actions) }
}

@inline(never)
func instrumentedTick(_ engine: inout TCPCopyEngine, now: MonotonicTime, actions: inout [EngineAction]) {
    engine.tick(now: now, actions: &actions)
}

@inline(never)
func instrumentedEncode(_ segment: OutgoingSegment, into buffer: inout [UInt8]) {
    buffer.removeAll(keepingCapacity: true)
    segment.encode(into: &buffer)
}

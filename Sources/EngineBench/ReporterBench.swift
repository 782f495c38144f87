// intercept's side of `--compare` (`AnswerReporter`), for Scripts/bench/engine.sh --reporter:
// instructions and heap allocations per compared session under callgrind.
//
// Short HTTP sessions (Connection: close) as intercept sees them at 3,000 a second: tcpcopy's
// `compare` (`start`), the target's SYN-ACK, its answer in one packet (an nginx-like head and a
// 1,000-byte page) and its FIN; each packet's pieces are encoded into the control connection's
// output buffer as the daemon does, and routes are withdrawn (`unregister`: `stop`) 3 s after
// they were compared, as tcpcopy's lingering does, so that about 9,000 routes are compared at
// once. Packets are built and parsed (the engine's parse, which the daemon hands over) outside
// the measured functions (`instrumented…`).
//
// The CRC-32C is the CPU's instruction, as the daemons install it, unless REPORTER_CRC=table.
import CTCPCopyShims
import Glibc
import TCPCopyCore

enum ReporterBench {
    static let target = IPAddress.v4(IPv4Address(10, 0, 0, 2))
    static let targetISN: UInt32 = 700_000
    static let clientStart: UInt32 = 1001
    static let requestLength: UInt32 = 120
    /// Routes compared at once: 3 s of tcpcopy's lingering at 3,000 sessions a second.
    static let live = 9000
    static let owner: UInt64 = 1

    static let answer: [UInt8] = {
        let body = [UInt8](repeating: 0x61, count: 1000)
        let head =
            "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 06:00:00 GMT\r\n"
            + "Content-Type: text/html\r\nContent-Length: \(body.count)\r\n"
            + "Last-Modified: Mon, 07 Dec 2026 05:00:00 GMT\r\nConnection: close\r\n"
            + "ETag: \"6574f0c0-3e8\"\r\nAccept-Ranges: bytes\r\n\r\n"
        return Array(head.utf8) + body
    }()

    static func run(_ arguments: [String]) {
        let sessions = arguments.first.flatMap { Int($0) } ?? 20_000
        let warmUp = arguments.dropFirst().first.flatMap { Int($0) } ?? 30_000
        let table = getenv("REPORTER_CRC").map { String(cString: $0) } == "table"
        if !table, CTCPCopyShims_crc32c_hardware_available() == 1 {
            CRC32C.installAccelerated(CTCPCopyShims_crc32c_update)
        }
        var bench = Sessions()
        bench.run(0..<warmUp, counting: false)
        let before = (bench.allocations, bench.pieces, bench.packets)
        bench.run(warmUp..<(warmUp + sessions), counting: true)
        print(
            "sessions \(sessions) packets \(bench.packets - before.2) pieces \(bench.pieces - before.1) "
                + "allocations \(AllocationCounter.isAvailable ? String(bench.allocations - before.0) : "unknown") "
                + "frame_bytes \(bench.frameBytes)")
        print(
            "compared_routes \(bench.reporter.streamCount) answer_pieces \(bench.reporter.piecesReported) "
                + "crc \(CRC32C.isAccelerated ? "instruction" : "table")")
    }

    static func key(_ index: Int) -> RouteKey {
        RouteKey(
            clientAddress: .v4(IPv4Address(0xC0A8_0000 | UInt32(index & 0xFF) + 1)),
            clientPort: UInt16(10_000 + (index >> 8) % 55_000), targetAddress: target, targetPort: 80)
    }

    static func packet(_ key: RouteKey, seq: UInt32, ack: UInt32, _ flags: TCPFlags, payload: ArraySlice<UInt8>)
        -> [UInt8]
    {
        OutgoingSegment(
            source: key.targetAddress, destination: key.clientAddress, sourcePort: key.targetPort,
            destinationPort: key.clientPort, sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack),
            flags: flags, window: 509, options: TCPOptions(timestamp: .init(value: 90_000, echoReply: 1)),
            payload: payload
        ).encode()
    }

    struct Sessions {
        var reporter = AnswerReporter<UInt64>(enabled: true)
        var pieces = 0
        var packets = 0
        var allocations = 0
        var frameBytes = 0
        /// The control connection's output buffer, emptied after each session (as a flush would).
        var output = BoundedOutputBuffer(capacity: 1 << 22)
        var answerPieces: [ReportedPiece] = []

        init() {
            // tcpcopy sends `compare_config` once, with no masked header by default.
            reporter.configure(ReporterBench.owner, maskedHeaders: [])
            answerPieces.reserveCapacity(8)
        }

        mutating func run(_ sessions: Range<Int>, counting: Bool) {
            let ack = ReporterBench.clientStart &+ ReporterBench.requestLength
            for index in sessions {
                let key = ReporterBench.key(index)
                let isn = ReporterBench.targetISN
                let synAck = ReporterBench.packet(
                    key, seq: isn, ack: ReporterBench.clientStart, [.syn, .ack], payload: [])
                let data = ReporterBench.packet(
                    key, seq: isn &+ 1, ack: ack, [.psh, .ack], payload: ReporterBench.answer[...])
                let fin = ReporterBench.packet(
                    key, seq: isn &+ 1 &+ UInt32(ReporterBench.answer.count), ack: ack, [.fin, .ack], payload: [])
                let earlier = index >= ReporterBench.live ? ReporterBench.key(index - ReporterBench.live) : nil
                if counting {
                    let before = AllocationCounter.value
                    instrumentedStart(&reporter, key, stop: earlier)
                    allocations += AllocationCounter.value - before
                } else {
                    if let earlier { reporter.stop(earlier) }
                    reporter.start(key, owner: ReporterBench.owner)
                }
                for (offset, bytes) in [synAck, data, fin].enumerated() {
                    guard case .success(let parsed) = TCPPacket.parse(bytes, requirePayload: false, readOptions: false)
                    else { fatalError("bench packet does not parse") }
                    packets += 1
                    bytes.withUnsafeBytes { raw in
                        let stamp = UInt64(index * 1000 + offset)
                        if counting {
                            let before = AllocationCounter.value
                            instrumentedObserve(&reporter, parsed, raw, stamp: stamp, into: &answerPieces, &output)
                            allocations += AllocationCounter.value - before
                        } else {
                            report(&reporter, parsed, raw, stamp: stamp, into: &answerPieces, &output)
                        }
                    }
                }
                pieces = reporter.piecesReported
                if counting { frameBytes += output.pendingCount }
                output.consume(output.pendingCount)
            }
        }
    }
}

// What callgrind collects (engine.sh: --toggle-collect='*instrumented*').

@inline(never)
func instrumentedStart(_ reporter: inout AnswerReporter<UInt64>, _ key: RouteKey, stop earlier: RouteKey?) {
    if let earlier { reporter.stop(earlier) }
    reporter.start(key, owner: ReporterBench.owner)
}

@inline(never)
func instrumentedObserve(
    _ reporter: inout AnswerReporter<UInt64>, _ packet: TCPPacket, _ bytes: UnsafeRawBufferPointer, stamp: UInt64,
    into pieces: inout [ReportedPiece], _ output: inout BoundedOutputBuffer
) {
    report(&reporter, packet, bytes, stamp: stamp, into: &pieces, &output)
}

/// What `InterceptDaemon.reportAnswer` does with one queued packet.
@inline(__always)
func report(
    _ reporter: inout AnswerReporter<UInt64>, _ packet: TCPPacket, _ bytes: UnsafeRawBufferPointer, stamp: UInt64,
    into pieces: inout [ReportedPiece], _ output: inout BoundedOutputBuffer
) {
    pieces.removeAll(keepingCapacity: true)
    guard reporter.observe(packet, bytes, stampMicroseconds: stamp, into: &pieces) != nil else { return }
    for piece in pieces { output.appendAnswerPiece(piece, head: UnsafeRawBufferPointer(rebasing: bytes[piece.head])) }
}

import Testing

@testable import TCPCopyCore

/// One connection seen at the online server, its copy at the target (through intercept's
/// `AnswerReporter`), and the tracker pairing them.
private struct Scene {
    var tracker = ExchangeTracker()
    var reporter = AnswerReporter<Int>(enabled: true)
    let connection = CompareConnection(
        clientAddress: .v4(Lab.client), clientPort: Lab.clientPort, servicePort: Lab.onlinePort)
    var clientISN: UInt32 = 0xFFFF_FF00  // wraps during the session
    var serverISN: UInt32 = 5000
    var copiedISN: UInt32 = 777
    var targetISN: UInt32 = 0xFFFF_FFF0
    /// Client bytes sent so far (relative), production's and the target's answer bytes.
    var clientSent: UInt32 = 0
    var onlineSent: UInt32 = 0
    var targetSent: UInt32 = 0
    var clock: Int64 = 1_000_000

    init(maskedHeaders: [String] = []) {
        tracker = ExchangeTracker(maskedHeaders: maskedHeaders)
        reporter.configure(1, maskedHeaders: maskedHeaders)
        client([.syn], payload: [])
        server([.syn, .ack], payload: [])
        client([.ack], payload: [])
        tracker.copyStarted(Lab.key, of: connection)
        reporter.start(Lab.key, owner: 1)
        tracker.sentToTarget(Lab.key, sequence: copiedISN, flags: [.syn], payloadLength: 0, microseconds: clock)
        target([.syn, .ack], payload: [])
    }

    /// A new connection on the same ports, its copy registered before the capture shows its SYN
    /// (tcpcopy's own capture is ahead), the earlier copy not ended yet.
    mutating func reuseThePorts() {
        clientISN &+= 100_000
        serverISN &+= 200_000
        copiedISN &+= 300_000
        targetISN &+= 400_000
        (clientSent, onlineSent, targetSent) = (0, 0, 0)
        tracker.copyStarted(Lab.key, of: connection)
        reporter.start(Lab.key, owner: 1)
        tracker.sentToTarget(Lab.key, sequence: copiedISN, flags: [.syn], payloadLength: 0, microseconds: clock)
        client([.syn], payload: [])
        server([.syn, .ack], payload: [])
        client([.ack], payload: [])
        target([.syn, .ack], payload: [])
    }

    mutating func client(_ flags: TCPFlags, payload: [UInt8]) {
        let seq = flags.contains(.syn) ? clientISN : clientISN &+ 1 &+ clientSent
        let bytes = CapturedClient().bytes(
            seq: seq, ack: flags.contains(.syn) ? 0 : serverISN &+ 1 &+ onlineSent, flags, payload: payload)
        observe(bytes)
        if !payload.isEmpty {
            tracker.sentToTarget(
                Lab.key, sequence: copiedISN &+ 1 &+ clientSent, flags: [.ack], payloadLength: payload.count,
                microseconds: clock)
        }
        clientSent &+= UInt32(payload.count)
    }

    mutating func server(_ flags: TCPFlags, payload: [UInt8]) {
        let bytes = OutgoingSegment(
            source: .v4(Lab.online), destination: .v4(Lab.client), sourcePort: Lab.onlinePort, destinationPort: Lab.clientPort,
            sequence: SequenceNumber(flags.contains(.syn) ? serverISN : serverISN &+ 1 &+ onlineSent),
            acknowledgment: SequenceNumber(clientISN &+ 1 &+ clientSent), flags: flags, window: 100,
            payload: payload[...]
        ).encode()
        observe(bytes)
        onlineSent &+= UInt32(payload.count)
    }

    mutating func target(_ flags: TCPFlags, payload: [UInt8], repeatLast: Bool = false) {
        let seq = flags.contains(.syn) ? targetISN : targetISN &+ 1 &+ targetSent
        let bytes = OutgoingSegment(
            source: .v4(Lab.target), destination: .v4(Lab.client), sourcePort: Lab.targetPort, destinationPort: Lab.clientPort,
            sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(copiedISN &+ 1 &+ clientSent), flags: flags,
            window: 100, payload: payload[...]
        ).encode()
        for _ in 0..<(repeatLast ? 2 : 1) {
            var pieces: [AnswerPiece] = []
            let owner = bytes.withUnsafeBytes { reporter.observe($0, stampMicroseconds: 1, into: &pieces) }
            #expect(owner == nil || owner == 1)
            for piece in pieces {
                // Through the codec, as on the control link.
                var decoder = ControlDecoder()
                decoder.append(ControlEncoder.encode(.answerPiece(piece)))
                guard case .answerPiece(let decoded)? = try? decoder.next() else {
                    Issue.record("the piece did not decode")
                    return
                }
                tracker.targetAnswered(decoded, microseconds: clock)
            }
        }
        targetSent &+= UInt32(payload.count)
    }

    private mutating func observe(_ bytes: [UInt8]) {
        let packet = try! TCPPacket.parse(bytes, requirePayload: true).get()
        bytes.withUnsafeBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[packet.headerLength...])
            if packet.destinationPort == Lab.onlinePort {
                tracker.client(
                    connection, sequence: packet.sequence.rawValue, acknowledgment: packet.acknowledgment.rawValue,
                    flags: packet.flags, payload: payload, microseconds: clock)
            } else {
                tracker.server(
                    connection, sequence: packet.sequence.rawValue, acknowledgment: packet.acknowledgment.rawValue,
                    flags: packet.flags, payload: payload, microseconds: clock)
            }
        }
    }

    mutating func finish() -> [Exchange] {
        tracker.copyEnded(Lab.key, microseconds: clock)
        var exchanges: [Exchange] = []
        tracker.collect(now: .max, onlineNow: .max, into: &exchanges)
        return exchanges
    }
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct ExchangeTrackerTests {
    @Test func keepAliveExchangesArePairedInOrder() {
        var scene = Scene()
        let answers = [
            "HTTP/1.1 200 OK\r\n\r\nfirst", "HTTP/1.1 404 Not Found\r\n\r\nsecond answer", "HTTP/1.1 200 OK\r\n\r\n3",
        ]
        let targetAnswers = [answers[0], answers[1], "HTTP/1.1 500 Oops\r\n\r\n3"]
        for (index, answer) in answers.enumerated() {
            scene.client([.ack, .psh], payload: bytes("GET /\(index) HTTP/1.1\r\n\r\n"))
            scene.clock += 100
            // Production cuts its answer in two, the target sends it whole, and repeats it.
            let cut = answer.utf8.count / 2
            scene.server([.ack], payload: Array(bytes(answer)[..<cut]))
            scene.server([.ack, .psh], payload: Array(bytes(answer)[cut...]))
            scene.clock += 900
            scene.target([.ack, .psh], payload: bytes(targetAnswers[index]), repeatLast: true)
            scene.client([.ack], payload: [])
        }
        let exchanges = scene.finish()
        #expect(exchanges.count == 3)
        #expect(exchanges.map(\.number) == [1, 2, 3])
        #expect(exchanges.map(\.requestFirstLine) == ["GET /0 HTTP/1.1", "GET /1 HTTP/1.1", "GET /2 HTTP/1.1"])
        #expect(exchanges.map { $0.outcome() } == [.same, .same, .firstLineDiffers])
        #expect(exchanges[1].online.firstLine == "HTTP/1.1 404 Not Found")
        #expect(exchanges[0].online.latencyMicroseconds == 100)
        #expect(exchanges[0].target.latencyMicroseconds == 1000)
        #expect(exchanges[1].online.digest == CRC32C.checksum(bytes(answers[1])))
        #expect(exchanges[1].target.digest == exchanges[1].online.digest)
    }

    @Test func lengthBytesResetAndSilence() {
        var scene = Scene()
        let script: [(online: String?, target: String?, targetFlags: TCPFlags)] = [
            ("+OK\r\n1", "+OK\r\n12", []),  // length
            ("+OK\r\n1", "+OK\r\n2", []),  // bytes
            ("+OK\r\n", nil, []),  // silent
            ("+OK\r\n", nil, [.rst]),  // reset
        ]
        for (online, target, flags) in script {
            scene.client([.ack, .psh], payload: bytes("PING\r\n"))
            if let online { scene.server([.ack, .psh], payload: bytes(online)) }
            if let target { scene.target([.ack, .psh], payload: bytes(target)) }
            if !flags.isEmpty { scene.target(flags, payload: []) }
        }
        let outcomes = scene.finish().map { $0.outcome() }
        #expect(outcomes == [.lengthDiffers, .bytesDiffer, .targetSilent, .targetReset])
    }

    /// Three requests in one write, answered one by one online and in one segment by the
    /// target: three exchanges, each under its own outcome, then a fourth on its own.
    @Test func pipelinedHTTPRequestsArePairedOneByOne() {
        var scene = Scene(maskedHeaders: ["Date"])
        func answer(_ status: String, _ body: String, date: String) -> String {
            "HTTP/1.1 \(status)\r\nDate: \(date)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        scene.client(
            [.ack, .psh],
            payload: bytes("GET /same HTTP/1.1\r\n\r\nGET /status HTTP/1.1\r\n\r\nGET /length HTTP/1.1\r\n\r\n"))
        scene.clock += 100
        scene.server([.ack, .psh], payload: bytes(answer("200 OK", "same", date: "1")))
        scene.clock += 10
        scene.server([.ack, .psh], payload: bytes(answer("200 OK", "status", date: "1")))
        scene.server([.ack, .psh], payload: bytes(answer("200 OK", "short", date: "1")))
        scene.clock += 900
        scene.target(
            [.ack, .psh],
            payload: bytes(
                answer("200 OK", "same", date: "22") + answer("500 No", "status", date: "22")
                    + answer("200 OK", "longer", date: "22")))
        scene.client([.ack, .psh], payload: bytes("GET /after HTTP/1.1\r\n\r\n"))
        scene.server([.ack, .psh], payload: bytes(answer("200 OK", "after", date: "3")))
        scene.target([.ack, .psh], payload: bytes(answer("200 OK", "after", date: "4")))
        let exchanges = scene.finish()
        #expect(exchanges.map(\.number) == [1, 2, 3, 4])
        #expect(
            exchanges.map(\.requestFirstLine) == [
                "GET /same HTTP/1.1", "GET /status HTTP/1.1", "GET /length HTTP/1.1", "GET /after HTTP/1.1",
            ])
        #expect(exchanges.map { $0.outcome() } == [.same, .firstLineDiffers, .lengthDiffers, .same])
        #expect(exchanges[1].target.firstLine == "HTTP/1.1 500 No")
        #expect(exchanges[0].online.latencyMicroseconds == 100)
        #expect(exchanges[1].online.latencyMicroseconds == 110)
        #expect(exchanges.map(\.target.latencyMicroseconds) == [1010, 1010, 1010, 0])
        #expect(exchanges[0].online.length == UInt64(answer("200 OK", "same", date: "1").utf8.count))
    }

    /// A client reusing its ports before the copy of its earlier connection ended: each
    /// connection's exchange is its own (the earlier one was counted as silent, the later lost).
    @Test func portsReusedStartANewConnection() {
        var scene = Scene()
        let answers = [
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", "HTTP/1.1 404 No\r\nContent-Length: 1\r\n\r\nb",
        ]
        for (index, answer) in answers.enumerated() {
            if index > 0 { scene.reuseThePorts() }
            scene.client([.ack, .psh], payload: bytes("GET /\(index) HTTP/1.1\r\nConnection: close\r\n\r\n"))
            scene.server([.ack, .psh, .fin], payload: bytes(answer))
            scene.target([.ack, .psh, .fin], payload: bytes(answer))
        }
        let exchanges = scene.finish()
        #expect(exchanges.map(\.requestFirstLine) == ["GET /0 HTTP/1.1", "GET /1 HTTP/1.1"])
        #expect(exchanges.map(\.number) == [1, 1])
        #expect(exchanges.map { $0.outcome() } == [.same, .same])
        #expect(exchanges.map(\.target.firstLine) == ["HTTP/1.1 200 OK", "HTTP/1.1 404 No"])
    }

    /// redis pipelines too, but without a framer a batch stays one exchange.
    @Test func pipelinedRequestsOfOtherProtocolsAreOneExchange() {
        var scene = Scene()
        scene.client([.ack, .psh], payload: bytes("PING\r\nPING\r\n"))
        scene.server([.ack, .psh], payload: bytes("+PONG\r\n+PONG\r\n"))
        scene.target([.ack, .psh], payload: bytes("+PONG\r\n+PONG\r\n"))
        let exchanges = scene.finish()
        #expect(exchanges.count == 1)
        #expect(exchanges.first?.outcome() == .same)
    }

    @Test func requestCutInSegmentsIsOneExchange() {
        var scene = Scene()
        scene.client([.ack], payload: bytes("POST /a HTTP/1.1\r\n"))
        scene.client([.ack, .psh], payload: bytes("Content-Length: 0\r\n\r\n"))
        scene.server([.ack, .psh], payload: bytes("HTTP/1.1 201 Created\r\n\r\n"))
        scene.target([.ack, .psh], payload: bytes("HTTP/1.1 201 Created\r\n\r\n"))
        let exchanges = scene.finish()
        #expect(exchanges.count == 1)
        #expect(exchanges.first?.outcome() == .same)
        #expect(exchanges.first?.key == "POST /a")
    }

    @Test func exchangesCloseOnceTheTargetMovesOn() {
        var scene = Scene()
        var closed: [Exchange] = []
        scene.client([.ack, .psh], payload: bytes("GET /1 HTTP/1.1\r\n\r\n"))
        scene.server([.ack, .psh], payload: bytes("HTTP/1.1 200 OK\r\n\r\n"))
        scene.target([.ack, .psh], payload: bytes("HTTP/1.1 200 OK\r\n\r\n"))
        scene.tracker.collect(now: scene.clock, onlineNow: scene.clock, into: &closed)
        #expect(closed.isEmpty)  // the next request has not begun
        scene.client([.ack, .psh], payload: bytes("GET /2 HTTP/1.1\r\n\r\n"))
        scene.server([.ack, .psh], payload: bytes("HTTP/1.1 200 OK\r\n\r\n"))
        scene.tracker.collect(now: scene.clock, onlineNow: scene.clock, into: &closed)
        #expect(closed.isEmpty)  // the target has not answered the second yet
        scene.target([.ack, .psh], payload: bytes("HTTP/1.1 200 OK\r\n\r\n"))
        scene.tracker.collect(now: scene.clock, onlineNow: scene.clock, into: &closed)
        #expect(closed.map(\.number) == [1])
        #expect(scene.finish().map(\.number) == [2])
    }

    @Test func reporterSkipsRepeatsAndUncomparedRoutes() {
        var reporter = AnswerReporter<Int>(enabled: true)
        let other = OutgoingSegment(
            source: .v4(Lab.target), destination: .v4(Lab.client), sourcePort: Lab.targetPort, destinationPort: 1,
            sequence: SequenceNumber(1), acknowledgment: SequenceNumber(1), flags: [.ack], window: 1,
            payload: [1, 2, 3][...]
        ).encode()
        reporter.start(Lab.key, owner: 7)
        var pieces: [AnswerPiece] = []
        #expect(other.withUnsafeBytes { reporter.observe($0, stampMicroseconds: 0, into: &pieces) } == nil)
        #expect(pieces.isEmpty)
        var disabled = AnswerReporter<Int>()
        disabled.start(Lab.key, owner: 7)
        #expect(!disabled.isActive)
    }
}

@Suite struct ExchangeTrackerOrderTests {
    /// The copy leaves, and the target answers, before the comparison's own capture shows the
    /// request: the answer still goes with its request, not with the one before.
    @Test func targetAheadOfTheCaptureWaits() {
        var tracker = ExchangeTracker()
        let connection = CompareConnection(clientAddress: .v4(Lab.client), clientPort: 1, servicePort: 80)
        let key = Lab.key
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        tracker.copyStarted(key, of: connection)
        tracker.client(connection, sequence: 99, acknowledgment: 0, flags: [.syn], payload: empty, microseconds: 0)
        tracker.server(
            connection, sequence: 499, acknowledgment: 100, flags: [.syn, .ack], payload: empty, microseconds: 1)
        tracker.sentToTarget(key, sequence: 9, flags: [.syn], payloadLength: 0, microseconds: 0)
        var next: Int64 = 0
        for (index, text) in ["A\n", "B\n"].enumerated() {
            let request = Array("GET /\(index)\n".utf8)
            // The copy and the target's answer first.
            tracker.sentToTarget(
                key, sequence: 10 + UInt32(next), flags: [.ack], payloadLength: request.count, microseconds: 100)
            tracker.targetAnswered(
                AnswerPiece(
                    key: key, sequenceOffset: UInt32(index * 2),
                    acknowledgmentOffset: UInt32(next) + UInt32(request.count),
                    length: 2, crc: CRC32C.checksum(Array(text.utf8)), flags: [], stampMicroseconds: 0,
                    head: Array(text.utf8)),
                microseconds: 150)
            request.withUnsafeBytes {
                tracker.client(
                    connection, sequence: 100 + UInt32(next), acknowledgment: 500 + UInt32(index * 2), flags: [.ack],
                    payload: $0, microseconds: 1000)
            }
            next += Int64(request.count)
            Array(text.utf8).withUnsafeBytes {
                tracker.server(
                    connection, sequence: 500 + UInt32(index * 2), acknowledgment: 100 + UInt32(next), flags: [.ack],
                    payload: $0, microseconds: 1100)
            }
        }
        tracker.copyEnded(key, microseconds: 0)
        var exchanges: [Exchange] = []
        tracker.collect(now: .max, onlineNow: .max, into: &exchanges)
        #expect(exchanges.map { $0.outcome() } == [.same, .same])
        #expect(exchanges.map(\.target.firstLine) == ["A", "B"])
        #expect(exchanges.map(\.target.latencyMicroseconds) == [50, 50])
    }
}

@Suite struct ExchangeTrackerMaskTests {
    /// A `Date:` line of another value and length on each side: with it masked on both sides
    /// (production's digest here, intercept's reporter there), the answers are the same.
    @Test func maskedHeaderLinesAreLeftOutOnBothSides() {
        for masked in [true, false] {
            var scene = Scene(maskedHeaders: masked ? ["date"] : [])
            scene.client([.ack, .psh], payload: bytes("GET / HTTP/1.1\r\n\r\n"))
            scene.server([.ack], payload: bytes("HTTP/1.1 200 OK\r\nDa"))
            scene.server([.ack, .psh], payload: bytes("te: Mon, 7 Dec 2026\r\nServer: x\r\n\r\nbody"))
            scene.target(
                [.ack, .psh],
                payload: bytes("HTTP/1.1 200 OK\r\nDate: Tue, 8 Dec 2026 01:02:03\r\nServer: x\r\n\r\nbody"))
            let outcome = scene.finish().first?.outcome()
            #expect(outcome == (masked ? .same : .lengthDiffers))
        }
    }
}

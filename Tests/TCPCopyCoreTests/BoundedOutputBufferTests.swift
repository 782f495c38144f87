import Testing

@testable import TCPCopyCore

private extension BoundedOutputBuffer {
    var pendingBytes: [UInt8] { withPendingBytes { Array($0) } }
}

@Suite struct BoundedOutputBufferTests {
    @Test func capIsRespectedAndNothingPartialIsLeft() {
        var buffer = BoundedOutputBuffer(capacity: 30)
        #expect(buffer.isEmpty)
        #expect(buffer.append(Array(0..<20)) == true)
        #expect(buffer.canAccept(10))
        #expect(!buffer.canAccept(11))
        #expect(buffer.append(Array(100..<111)) == false)
        #expect(buffer.pendingCount == 20)
        #expect(buffer.pendingBytes == Array(0..<20))
        #expect(buffer.append(Array(200..<210)) == true)
        #expect(buffer.pendingCount == 30)
        #expect(buffer.append([1]) == false)
        #expect(buffer.append([]) == true)
        #expect(buffer.pendingBytes == Array(0..<20) + Array(200..<210))
    }

    @Test func messagesAreAppendedWholeOrNotAtAll() {
        let hello = ControlEncoder.encode(.hello(version: 1))  // 10 bytes
        var buffer = BoundedOutputBuffer(capacity: 25)
        #expect(buffer.append(.hello(version: 1)) == true)
        #expect(buffer.append(.hello(version: 1)) == true)
        #expect(buffer.append(.hello(version: 1)) == false)
        #expect(buffer.pendingCount == 20)
        #expect(buffer.append(.heartbeat) == false)
        #expect(buffer.pendingBytes == hello + hello)
        buffer.consume(10)
        #expect(buffer.append(.register(Lab.key)) == false)  // 20 bytes: 30 > 25
        #expect(buffer.append(.heartbeat) == true)
        #expect(buffer.pendingBytes == hello + ControlEncoder.encode(.heartbeat))
    }

    @Test func responseFramesFromRawHeadersAreCappedAndCountedToo() {
        let header = RespondingTarget().header(seq: 1, ack: 2, .ack)
        let frame = ControlEncoder.encode(.response(header))  // 48 bytes
        var buffer = BoundedOutputBuffer(capacity: 100)
        let appended = header.bytes.withUnsafeBytes { headers in
            (0..<3).map { _ in buffer.appendResponse(headers: headers) }
        }
        #expect(appended == [true, true, false])
        #expect(buffer.pendingBytes == frame + frame)
        #expect(buffer.append(.heartbeat) == false)
        #expect(buffer.framesAppended == 2)
        #expect(buffer.framesRefused == 2)
    }

    @Test func partialConsumeResumesAtTheFirstUnsentByte() {
        var buffer = BoundedOutputBuffer(capacity: 100)
        buffer.append(Array(0..<50))
        buffer.consume(0)
        #expect(buffer.pendingCount == 50)
        buffer.consume(17)
        #expect(buffer.pendingCount == 33)
        #expect(buffer.withPendingBytes { $0.count } == 33)
        #expect(buffer.pendingBytes == Array(17..<50))
        // The freed room counts against the cap again.
        #expect(buffer.canAccept(67))
        #expect(!buffer.canAccept(68))
        buffer.append(Array(50..<60))
        #expect(buffer.pendingBytes == Array(17..<60))
        buffer.consume(40)
        #expect(buffer.pendingBytes == Array(57..<60))
    }

    @Test func consumingEverythingResets() {
        var buffer = BoundedOutputBuffer(capacity: 10)
        buffer.append(Array(0..<10))
        buffer.consume(4)
        buffer.consume(6)
        #expect(buffer.isEmpty)
        #expect(buffer.pendingCount == 0)
        #expect(buffer.withPendingBytes { $0.count } == 0)
        #expect(buffer.append(Array(10..<20)) == true)
        #expect(buffer.pendingBytes == Array(10..<20))
    }

    @Test func longRunOfPartialWritesKeepsOrder() {
        // Past the compaction threshold many times over: every byte comes out once, in order.
        var generator = SeededGenerator(seed: 8)
        var buffer = BoundedOutputBuffer(capacity: 20_000)
        var written: [UInt8] = []
        var next: UInt32 = 0
        var expected: [UInt8] = []
        for _ in 0..<2000 {
            let chunk = (0..<Int.random(in: 0...900, using: &generator)).map { _ in
                next &+= 1
                return UInt8(truncatingIfNeeded: next &* 2_654_435_761 >> 24)
            }
            if buffer.append(chunk) {
                expected += chunk
            } else {
                #expect(buffer.pendingCount + chunk.count > 20_000)
            }
            let take = Int.random(in: 0...buffer.pendingCount, using: &generator)
            written += buffer.withPendingBytes { Array($0.prefix(take)) }
            buffer.consume(take)
        }
        written += buffer.pendingBytes
        #expect(written == expected)
    }

    @Test func consumingMoreThanPendingTraps() async {
        await #expect(processExitsWith: .failure) {
            var buffer = BoundedOutputBuffer(capacity: 10)
            buffer.append([1, 2, 3])
            buffer.consume(4)
        }
    }
}

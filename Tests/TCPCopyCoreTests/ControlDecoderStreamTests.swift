import Testing

@testable import TCPCopyCore

/// The decoder fed a byte stream in every way a socket can deliver it.
@Suite struct ControlDecoderStreamTests {
    /// `count` messages drawn from `everyControlMessage`, their encoded stream, and where each
    /// frame ends in it.
    static func stream(count: Int, seed: UInt64) -> (messages: [ControlMessage], bytes: [UInt8], ends: [Int]) {
        var generator = SeededGenerator(seed: seed)
        var messages: [ControlMessage] = []
        var bytes: [UInt8] = []
        var ends: [Int] = []
        for _ in 0..<count {
            let message = everyControlMessage.randomElement(using: &generator)!
            messages.append(message)
            ControlEncoder.encode(message, into: &bytes)
            ends.append(bytes.count)
        }
        return (messages, bytes, ends)
    }

    @Test func oneByteAtATimeNeverDecodesEarly() throws {
        let (messages, bytes, ends) = Self.stream(count: 300, seed: 1)
        var decoder = ControlDecoder()
        var decoded: [ControlMessage] = []
        for (index, byte) in bytes.enumerated() {
            decoder.append(CollectionOfOne(byte))
            while let message = try decoder.next() {
                decoded.append(message)
                // A message appears exactly when the last byte of its frame arrives.
                #expect(index + 1 == ends[decoded.count - 1], "message \(decoded.count - 1) came early or late")
            }
            #expect(decoder.bufferedCount == index + 1 - (decoded.isEmpty ? 0 : ends[decoded.count - 1]))
        }
        #expect(decoded == messages)
        #expect(decoder.bufferedCount == 0)
    }

    @Test func manyFramesInOneAppend() throws {
        let (messages, bytes, _) = Self.stream(count: 1000, seed: 2)
        var decoder = ControlDecoder()
        decoder.append(bytes)
        var decoded: [ControlMessage] = []
        while let message = try decoder.next() { decoded.append(message) }
        #expect(decoded == messages)
        #expect(decoder.bufferedCount == 0)
        #expect(try decoder.next() == nil)
    }

    @Test func splitAtEveryOffset() throws {
        let messages: [ControlMessage] = [
            everyControlMessage[6], .heartbeat, .register(Lab.key), everyControlMessage[7],
        ]
        var bytes: [UInt8] = []
        for message in messages { ControlEncoder.encode(message, into: &bytes) }
        for split in 0...bytes.count {
            var decoder = ControlDecoder()
            var decoded: [ControlMessage] = []
            decoder.append(bytes[..<split])
            while let message = try decoder.next() { decoded.append(message) }
            decoder.append(bytes[split...])
            while let message = try decoder.next() { decoded.append(message) }
            #expect(decoded == messages, "split at \(split)")
        }
    }

    @Test func randomChunksFromARawBuffer() throws {
        let (messages, bytes, _) = Self.stream(count: 500, seed: 3)
        var generator = SeededGenerator(seed: 33)
        var decoder = ControlDecoder()
        var decoded: [ControlMessage] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Int.random(in: 0...300, using: &generator))
            bytes[offset..<end].withUnsafeBytes { decoder.append($0) }
            offset = end
            while let message = try decoder.next() { decoded.append(message) }
        }
        #expect(decoded == messages)
    }

    @Test func staysFailedAfterAnError() throws {
        var decoder = ControlDecoder()
        decoder.append(ControlEncoder.encode(.heartbeat))
        decoder.append([0x00, 0x00])
        decoder.append(ControlEncoder.encode(.hello(version: 1)))
        #expect(try decoder.next() == .heartbeat)
        #expect(throws: ControlProtocolError.badMagic(0)) { try decoder.next() }
        #expect(decoder.failure == .badMagic(0))
        // Good frames after the damage are never trusted.
        decoder.append(ControlEncoder.encode(.welcome(version: 1)))
        for _ in 0..<3 {
            #expect(throws: ControlProtocolError.badMagic(0)) { try decoder.next() }
        }
    }

    @Test func waitsForMoreWithoutError() throws {
        var decoder = ControlDecoder()
        #expect(try decoder.next() == nil)
        decoder.append([0x54])
        #expect(try decoder.next() == nil)
        decoder.append([0x43, 0x07, 0x00, 0x00])
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedCount == 5)
    }

    /// Random garbage, alone or after good frames, in random chunks: the decoder must never trap,
    /// must return the good frames, must throw at some point, and never return a message after.
    @Test func garbageThrowsAndNeverYieldsABogusMessage() {
        var generator = SeededGenerator(seed: 0xBAD)
        var threw = 0
        for trial in 0..<3000 {
            var good: [ControlMessage] = []
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...3, using: &generator) {
                let message = everyControlMessage.randomElement(using: &generator)!
                good.append(message)
                ControlEncoder.encode(message, into: &bytes)
            }
            var garbage = generator.bytes(Int.random(in: 1...200, using: &generator))
            switch trial % 3 {
            case 0: break
            case 1:
                // Valid magic, so the decoder reads on into type, flags and length.
                garbage = [0x54, 0x43] + garbage
            default:
                // A plausible header for a random type with a small length: checksum and body paths.
                let type = UInt8.random(in: 1...7, using: &generator)
                let length = [0, 2, 12, 40, 60][Int.random(in: 0..<5, using: &generator)]
                garbage = [0x54, 0x43, type, 0, 0, UInt8(length)] + garbage
                if garbage.count < 8 + length {
                    garbage += generator.bytes(8 + length - garbage.count)
                }
            }
            bytes += garbage
            var decoder = ControlDecoder()
            var decoded: [ControlMessage] = []
            var appended = 0
            var error: ControlProtocolError?
            repeat {
                let end = min(bytes.count, appended + Int.random(in: 1...64, using: &generator))
                decoder.append(bytes[appended..<end])
                appended = end
                do {
                    while let message = try decoder.next() {
                        #expect(error == nil, "message after an error in trial \(trial)")
                        decoded.append(message)
                    }
                } catch let thrown {
                    if let error { #expect(thrown == error) }
                    error = thrown
                }
            } while appended < bytes.count
            #expect(Array(decoded.prefix(good.count)) == good, "trial \(trial)")
            // Anything decoded past the good frames must be a frame that really is in the garbage.
            var reencoded: [UInt8] = []
            for message in decoded { ControlEncoder.encode(message, into: &reencoded) }
            #expect(Array(bytes.prefix(reencoded.count)) == reencoded, "trial \(trial)")
            if error != nil {
                threw += 1
                #expect(decoder.failure == error)
                #expect(throws: ControlProtocolError.self) { try decoder.next() }
            }
        }
        // Almost every trial ends in an error; the rest stopped waiting for more bytes.
        #expect(threw > 2900)
    }
}

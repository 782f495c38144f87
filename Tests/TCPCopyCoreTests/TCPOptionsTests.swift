import Testing

@testable import TCPCopyCore

@Suite struct TCPOptionsTests {
    /// The options of a Linux SYN: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
    static let linuxSYN: [UInt8] = [
        0x02, 0x04, 0x05, 0xB4, 0x04, 0x02, 0x08, 0x0A, 0x00, 0x0D, 0x4F, 0x3A,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ]

    @Test func parsesALinuxSYN() {
        let options = TCPOptions(parsing: Self.linuxSYN)
        #expect(options.maximumSegmentSize == 1460)
        #expect(options.windowScale == 7)
        #expect(options.sackPermitted)
        #expect(options.timestamp == TCPOptions.Timestamp(value: 0x000D_4F3A, echoReply: 0))
    }

    @Test func parsesEachKindAlone() {
        #expect(TCPOptions(parsing: [2, 4, 0x02, 0x18] as [UInt8]) == TCPOptions(maximumSegmentSize: 536))
        #expect(TCPOptions(parsing: [3, 3, 14] as [UInt8]) == TCPOptions(windowScale: 14))
        #expect(TCPOptions(parsing: [4, 2] as [UInt8]) == TCPOptions(sackPermitted: true))
        #expect(
            TCPOptions(parsing: [8, 10, 0xFF, 0xFF, 0xFF, 0xFE, 0x01, 0x02, 0x03, 0x04] as [UInt8])
                == TCPOptions(timestamp: .init(value: 0xFFFF_FFFE, echoReply: 0x0102_0304)))
        #expect(TCPOptions(parsing: [] as [UInt8]) == TCPOptions())
    }

    @Test func readsTheUsualTimestampLayoutAsTheWalkDoes() {
        let usual: [UInt8] = [1, 1, 8, 10, 0xFF, 0xFF, 0xFF, 0xFE, 0x01, 0x02, 0x03, 0x04]
        #expect(TCPOptions(parsing: usual) == TCPOptions(timestamp: .init(value: 0xFFFF_FFFE, echoReply: 0x0102_0304)))
        // As a slice of a packet, away from index 0, as the decoder hands it over.
        let packet: [UInt8] = [9, 9, 9] + usual + [7]
        #expect(TCPOptions(parsing: packet[3..<15]) == TCPOptions(parsing: usual))
        // Twelve bytes in another layout still go through the walk.
        let other: [UInt8] = [8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 1, 0]
        #expect(TCPOptions(parsing: other) == TCPOptions(timestamp: .init(value: 5, echoReply: 6)))
        let sackFirst: [UInt8] = [1, 1, 4, 2, 1, 1, 8, 10, 0, 0, 0, 5]
        #expect(TCPOptions(parsing: sackFirst) == TCPOptions(sackPermitted: true))
    }

    @Test func skipsNoOperations() {
        #expect(TCPOptions(parsing: [1, 1, 1, 2, 4, 0, 100] as [UInt8]) == TCPOptions(maximumSegmentSize: 100))
    }

    @Test func endOfOptionsStopsTheWalk() {
        #expect(TCPOptions(parsing: [0, 2, 4, 0x05, 0xB4] as [UInt8]) == TCPOptions())
        #expect(TCPOptions(parsing: [3, 3, 2, 0, 4, 2] as [UInt8]) == TCPOptions(windowScale: 2))
    }

    @Test func skipsUnknownAndSACKBlocksByTheirLength() {
        // SACK block (kind 5), then an unknown kind 30 of length 4, then window scale.
        let bytes: [UInt8] = [5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 4, 0xAA, 0xBB, 3, 3, 2]
        #expect(TCPOptions(parsing: bytes) == TCPOptions(windowScale: 2))
    }

    @Test func aKnownKindWithTheWrongLengthIsSkipped() {
        // MSS of length 3 and timestamps of length 6 are ignored; the walk goes on.
        #expect(TCPOptions(parsing: [2, 3, 5, 3, 3, 7] as [UInt8]) == TCPOptions(windowScale: 7))
        #expect(TCPOptions(parsing: [8, 6, 1, 2, 3, 4, 4, 2] as [UInt8]) == TCPOptions(sackPermitted: true))
        #expect(TCPOptions(parsing: [3, 4, 7, 0, 4, 2] as [UInt8]) == TCPOptions(sackPermitted: true))
    }

    @Test(
        arguments: [
            // Length 0 or 1 cannot advance: the walk ends, keeping what came before.
            [2, 4, 5, 180, 3, 0, 4, 2],
            [2, 4, 5, 180, 3, 1, 4, 2],
            // Length running past the end of the options area.
            [2, 4, 5, 180, 8, 10, 1, 2, 3, 4],
            [2, 4, 5, 180, 3, 3],
            // A kind byte with no length byte after it.
            [2, 4, 5, 180, 3],
        ] as [[UInt8]])
    func malformedLengthEndsTheWalkKeepingEarlierOptions(_ bytes: [UInt8]) {
        #expect(TCPOptions(parsing: bytes) == TCPOptions(maximumSegmentSize: 1460))
    }

    @Test func parsesASliceWithItsOwnIndices() {
        let packet: [UInt8] = [0xEE, 0xEE, 0xEE] + Self.linuxSYN + [0xEE]
        let options = TCPOptions(parsing: packet[3..<(3 + Self.linuxSYN.count)])
        #expect(options == TCPOptions(parsing: Self.linuxSYN))
    }

    @Test func encodesAlignedWithNoOperations() {
        let options = TCPOptions(
            maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
            timestamp: .init(value: 0x0102_0304, echoReply: 0x0506_0708))
        var bytes: [UInt8] = []
        options.encode(into: &bytes)
        #expect(
            bytes == [
                2, 4, 0x05, 0xB4, 1, 3, 3, 7, 1, 1, 4, 2, 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8,
            ])
        #expect(options.encodedLength == 24)
        #expect(TCPOptions().encodedLength == 0)
        #expect(TCPOptions(windowScale: 0).encodedLength == 4)
        #expect(TCPOptions(timestamp: .init(value: 1, echoReply: 2)).encodedLength == 12)
    }

    @Test func encodeAppendsToWhatIsThere() {
        var bytes: [UInt8] = [9, 9]
        TCPOptions(maximumSegmentSize: 1).encode(into: &bytes)
        #expect(bytes == [9, 9, 2, 4, 0, 1])
    }

    @Test func everyCombinationRoundTrips() {
        for mss in [nil, 0, 536, 65535] as [UInt16?] {
            for scale in [nil, 0, 14, 255] as [UInt8?] {
                for sack in [false, true] {
                    for timestamp in [nil, TCPOptions.Timestamp(value: .max, echoReply: 0)] {
                        let options = TCPOptions(
                            maximumSegmentSize: mss, windowScale: scale, sackPermitted: sack,
                            timestamp: timestamp)
                        var bytes: [UInt8] = []
                        options.encode(into: &bytes)
                        #expect(bytes.count == options.encodedLength)
                        #expect(bytes.count % 4 == 0)
                        #expect(TCPOptions(parsing: bytes) == options)
                    }
                }
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SeededGenerator(seed: 793)
        for _ in 0..<2000 {
            let bytes = generator.bytes(Int.random(in: 0...40, using: &generator))
            _ = TCPOptions(parsing: bytes)
            _ = TCPOptions(parsing: ([0] + bytes)[1...])
        }
    }
}

import Testing

@testable import TCPCopyCore

@Suite struct InternetChecksumTests {
    /// RFC 1071 §3: the words sum to 0xddf2, so the checksum is its complement.
    static let rfc1071: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]

    /// A real IPv4 header (UDP, 192.168.0.1 → 192.168.0.199) with its checksum 0xb861 at 10.
    static let ipv4Header: [UInt8] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xB8, 0x61,
        0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7,
    ]

    @Test func rfc1071Example() {
        #expect(InternetChecksum.of(Self.rfc1071) == 0x220D)
        #expect(~InternetChecksum.of(Self.rfc1071) == 0xDDF2)
    }

    @Test func realIPv4Header() {
        var zeroed = Self.ipv4Header
        zeroed[10] = 0
        zeroed[11] = 0
        #expect(InternetChecksum.of(zeroed) == 0xB861)
        // A header holding its own correct checksum sums to all ones: it verifies to zero.
        #expect(InternetChecksum.of(Self.ipv4Header) == 0)
    }

    @Test func oddLengthPadsWithAZeroByte() {
        #expect(InternetChecksum.of([0x01] as [UInt8]) == 0xFEFF)
        #expect(InternetChecksum.of([0x00, 0x01, 0xF2] as [UInt8]) == 0x0DFE)
        #expect(
            InternetChecksum.of([0x00, 0x01, 0xF2] as [UInt8])
                == InternetChecksum.of([0x00, 0x01, 0xF2, 0x00] as [UInt8]))
    }

    @Test func emptyAndZeroInput() {
        #expect(InternetChecksum.of([] as [UInt8]) == 0xFFFF)
        #expect(InternetChecksum.of([UInt8](repeating: 0, count: 64)) == 0xFFFF)
    }

    @Test func carriesFoldBackIn() {
        // 500 words of 0xffff sum to 0x1f3fe0c, which folds to 0xffff: checksum 0.
        #expect(InternetChecksum.of([UInt8](repeating: 0xFF, count: 1000)) == 0)
        #expect(InternetChecksum.of([0xFF, 0xFF, 0x00, 0x01] as [UInt8]) == 0xFFFE)
    }

    @Test func piecesEqualTheWhole() {
        var sum = InternetChecksum()
        sum.add([0x00] as [UInt8])
        sum.add([0x01, 0xF2, 0x03] as [UInt8])
        sum.add([] as [UInt8])
        sum.add([0xF4] as [UInt8])
        sum.add([0xF5, 0xF6, 0xF7] as [UInt8])
        #expect(sum.value == 0x220D)
    }

    @Test func everySplitOfRandomDataEqualsTheWhole() {
        var generator = SeededGenerator(seed: 1071)
        for length in [1, 2, 7, 40, 41, 333] {
            let data = generator.bytes(length)
            let whole = InternetChecksum.of(data)
            #expect(whole == referenceChecksum(data))
            for split in 0...length {
                for second in split...length where second == split || second == length || (second - split) % 3 == 1 {
                    var sum = InternetChecksum()
                    sum.add(data[..<split])
                    sum.add(data[split..<second])
                    sum.add(data[second...])
                    #expect(sum.value == whole, "split at \(split), \(second) of \(length)")
                }
            }
        }
    }

    @Test func nonContiguousCollectionsAreSummedToo() {
        let data = Self.rfc1071
        #expect(InternetChecksum.of(data.lazy.map { $0 }) == 0x220D)
        #expect(InternetChecksum.of(data.reversed().reversed()) == 0x220D)
    }

    @Test func rawBufferAndWords() {
        var fromBuffer = InternetChecksum()
        Self.rfc1071.withUnsafeBytes { fromBuffer.add($0) }
        #expect(fromBuffer.value == 0x220D)

        var fromWords = InternetChecksum()
        for word: UInt16 in [0x0001, 0xF203, 0xF4F5, 0xF6F7] { fromWords.add(word: word) }
        #expect(fromWords.value == 0x220D)

        var fromAddress = InternetChecksum()
        fromAddress.add(address: IPv4Address(0x0001_F203))
        fromAddress.add(address: IPv4Address(0xF4F5_F6F7))
        #expect(fromAddress.value == 0x220D)
    }
}

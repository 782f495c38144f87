import Testing

@testable import TCPCopyCore

@Suite struct CRC32CTests {
    /// RFC 3720 B.4: the CRCs of the iSCSI test patterns.
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
        let iscsiRead: [UInt8] = [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(CRC32C.checksum(iscsiRead) == 0xD9963A56)
    }

    /// The usual check value of CRC-32C.
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func updateContinuesAChecksum() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        for cut in 0...bytes.count {
            let crc = CRC32C.update(CRC32C.checksum(bytes[..<cut]), with: bytes[cut...])
            #expect(crc == CRC32C.checksum(bytes))
        }
    }

    /// Joining two ranges' CRCs gives the whole's, for every cut and long second ranges too.
    @Test func combineJoinsAdjacentRanges() {
        var generator = SplitMix(seed: 7)
        let bytes = (0..<3000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let whole = CRC32C.checksum(bytes)
        for cut in [0, 1, 2, 3, 7, 100, 1024, 1500, 2999, 3000] {
            let joined = CRC32C.combine(
                CRC32C.checksum(bytes[..<cut]), CRC32C.checksum(bytes[cut...]), lengthB: UInt64(bytes.count - cut))
            #expect(joined == whole, "cut at \(cut)")
        }
    }

    /// Long second ranges use the high powers of the zero-bytes operator.
    @Test func combineOverLongRanges() {
        let head = Array("answer head".utf8)
        for length in [255, 256, 65_537, 1 << 20] {
            let tail = [UInt8](repeating: 0xA5, count: length)
            let joined = CRC32C.combine(CRC32C.checksum(head), CRC32C.checksum(tail), lengthB: UInt64(length))
            #expect(joined == CRC32C.checksum(head + tail), "length \(length)")
        }
        #expect(CRC32C.combine(0x1234_5678, 0, lengthB: 0) == 0x1234_5678)
    }
}

/// A small deterministic generator for the tests' data and shuffles.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
